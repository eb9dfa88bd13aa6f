"""The series queries on every warehouse (DuckDB; BigQuery on the emulator) and the whole find on their rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.regressions import SeriesQuery, find_regressions
from job_run_aggregator.regressions.series import load_runs, load_series, runs_sql, screen_sql

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
JOB = "periodic-ci-openshift-release-master-nightly-4.14-e2e-aws-ovn"  # 4.14 aws amd64 ovn ha
OTHER = "periodic-ci-openshift-release-master-nightly-4.13-e2e-gcp-sdn"  # 4.13 gcp amd64 sdn ha
STEP_RUN = 60  # the first run after the planted change
RUNS = 100
HOSTILE = "a|b'); DROP TABLE Jobs; --"  # a backend name with the key separator and SQL in it


def start_of(i: int) -> datetime:
    return NOW - timedelta(days=20) + timedelta(hours=4 * i)


def disruption(job: str, run: str, backend: str, seconds: int, i: int) -> dict:
    start = start_of(i)
    return {"BackendName": backend, "JobRunName": run, "DisruptionSeconds": seconds, "JobName": job,
            "JobRunStartTime": start, "JobRunEndTime": start + timedelta(hours=2), "Cluster": "build01",
            "ReleaseTag": f"4.14.0-0.nightly-{i:03d}" if job == JOB else None, "MasterNodesUpdated": "N",
            "JobRunStatus": "success"}


def alert(job: str, run: str, namespace: str, seconds: int, i: int) -> dict:
    row = disruption(job, run, "", 0, i)
    del row["BackendName"], row["DisruptionSeconds"]
    return {**row, "Name": "etcdMembersDown", "Namespace": namespace, "Level": "Critical", "AlertSeconds": seconds}


def load_sample(warehouse) -> None:
    """100 runs of each job; on JOB kube-api is +40 s from run 60, and alerts fire from run 60 in two namespaces."""
    rng = random.Random(3)
    warehouse.create_tables()
    rows, alerts = [], []
    for job, prefix in ((JOB, "17"), (OTHER, "18")):
        for i in range(RUNS):
            run = f"{prefix}{i:05d}"
            noise = rng.choice([0, 0, 0, 1, 2, 5])
            step = 40 if job == JOB and i >= STEP_RUN else 0
            rows.append(disruption(job, run, "kube-api-new-connections", noise + step, i))
            rows.append(disruption(job, run, "oauth-api-new-connections", rng.choice([0, 0, 1, 3]), i))
            rows.append(disruption(job, run, HOSTILE, rng.choice([0, 1]), i))
            fired = 30 if job == JOB and i >= STEP_RUN else rng.choice([0, 0, 0, 0, 2])
            alerts.append(alert(job, run, "openshift-etcd", fired, i))
            alerts.append(alert(job, run, "openshift-monitoring", fired // 2, i))
    warehouse.load({"Jobs": [variant_for(JOB).jobs_row(), variant_for(OTHER).jobs_row()]})
    warehouse.load({"BackendDisruption": rows, "Alerts": alerts})


def test_screen_and_runs_queries_return_the_series_in_run_order(warehouse) -> None:
    load_sample(warehouse)
    q = SeriesQuery(now=NOW, days=42)
    series = dict(load_series(warehouse, q))
    assert len(series) == 6  # 3 backends × 2 variants
    key = ("kube-api-new-connections", "4.14", "", "aws", "amd64", "ovn", "ha")
    values = series[key]
    assert values.size == RUNS and (values[STEP_RUN:] >= 40).all() and (values[:STEP_RUN] <= 5).all()
    hostile = ("a|b'); DROP TABLE Jobs; --", "4.13", "", "gcp", "amd64", "sdn", "ha")
    runs = load_runs(warehouse, q, [key, hostile])
    assert set(runs) == {key, hostile}
    assert [r.job_run_name for r in runs[key]] == [f"17{i:05d}" for i in range(RUNS)]
    assert runs[key][STEP_RUN].release_tag == f"4.14.0-0.nightly-{STEP_RUN:03d}"
    assert runs[key][STEP_RUN].start == start_of(STEP_RUN)
    assert runs[hostile][0].release_tag == ""  # NULL ReleaseTag reads as ""


def test_the_window_release_and_min_runs_filter_the_series(warehouse) -> None:
    load_sample(warehouse)
    assert len(load_series(warehouse, SeriesQuery(now=NOW, release="4.13"))) == 3
    assert load_series(warehouse, SeriesQuery(now=NOW, min_runs=RUNS + 1)) == []
    # The last 10 days hold runs 60…99 (one every 4 hours): 40 runs per series.
    assert {v.size for _, v in load_series(warehouse, SeriesQuery(now=NOW, days=10))} == {40}


def test_find_regressions_reports_the_planted_step_with_its_first_run(warehouse) -> None:
    load_sample(warehouse)
    report = find_regressions(warehouse, SeriesQuery(now=NOW, days=42))
    assert report.series == 6
    (item,) = report.as_json()
    assert item["Name"] == "kube-api-new-connections" and item["Release"] == "4.14" and item["Platform"] == "aws"
    assert item["ChangeTime"] == start_of(STEP_RUN).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert item["FirstRun"] == {"JobName": JOB, "JobRunName": f"17{STEP_RUN:05d}",
                                "ReleaseTag": f"4.14.0-0.nightly-{STEP_RUN:03d}"}
    assert item["Before"]["Runs"] == STEP_RUN and item["After"]["Runs"] == RUNS - STEP_RUN
    assert item["After"]["P50"] >= 40 and item["Before"]["P50"] <= 5 and item["PValue"] < 1e-6


def test_alerts_sum_namespaces_per_run(warehouse) -> None:
    load_sample(warehouse)
    q = SeriesQuery(data_type="alerts", now=NOW, days=42)
    series = dict(load_series(warehouse, q))
    values = series[("etcdMembersDown", "4.14", "", "aws", "amd64", "ovn", "ha")]
    assert values.size == RUNS and set(values[STEP_RUN:]) == {45.0}  # 30 + 15 in the run
    (item,) = find_regressions(warehouse, q).as_json()
    assert (item["DataType"], item["Name"], item["FirstRun"]["JobRunName"]) == ("alerts", "etcdMembersDown",
                                                                                 f"17{STEP_RUN:05d}")


def test_an_empty_warehouse_finds_nothing(warehouse) -> None:
    warehouse.create_tables()
    report = find_regressions(warehouse, SeriesQuery(now=NOW))
    assert (report.series, report.items) == (0, ())


def test_sql_is_parameterised_and_options_are_checked() -> None:
    q = SeriesQuery(now=NOW, release="4.14'; DROP TABLE Jobs; --")
    assert "DROP" not in screen_sql(q) and "@release" in screen_sql(q) and "@keys" in runs_sql(q)
    with pytest.raises(ConfigError, match="--data-type 'tests': choose disruptions or alerts"):
        SeriesQuery(data_type="tests")
    with pytest.raises(ConfigError, match="--days 0"):
        SeriesQuery(days=0)
