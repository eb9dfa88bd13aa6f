"""BigQuery at scale: the SQL sent to BigQuery reads only the partitions it needs (snapshots under snapshots/;
regenerate with JRA_UPDATE_SNAPSHOTS=1 after a deliberate change, then review the diff)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS, HistoryQuery, percentile_sql
from job_run_aggregator.warehouse.base import open_warehouse
from job_run_aggregator.warehouse.bigquery import merge_sql, partition_window
from job_run_aggregator.warehouse.schema import TABLES, table

SNAPSHOTS = Path(__file__).parent / "snapshots"
T0 = datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc)
TARGET, STAGING = "openshift-ci-data-analysis.ci_data.{}", "openshift-ci-data-analysis.ci_data._staging_{}_0"
PRUNE = "T.`{}` BETWEEN @partition_start AND @partition_end"

CASES = {
    "percentiles_disruptions.sql": (percentile_sql(HistoryQuery(DISRUPTIONS)),
                                    "d.JobRunStartTime >= @start AND d.JobRunStartTime < @end"),
    "percentiles_alerts.sql": (percentile_sql(HistoryQuery(ALERTS, alert_names=("etcdNoLeader",))),
                               "a.JobRunStartTime >= @start AND a.JobRunStartTime < @end"),
    "merge_backend_disruption.sql": (
        merge_sql(table("BackendDisruption"), TARGET.format("BackendDisruption"), STAGING.format("BackendDisruption"),
                  replace=False, pruned=True),
        PRUNE.format("JobRunStartTime")),
    "merge_alerts.sql": (merge_sql(table("Alerts"), TARGET.format("Alerts"), STAGING.format("Alerts"),
                                   replace=False, pruned=True), PRUNE.format("JobRunStartTime")),
    "merge_job_runs.sql": (merge_sql(table("JobRuns"), TARGET.format("JobRuns"), STAGING.format("JobRuns"),
                                     replace=False, pruned=True), PRUNE.format("StartTime")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_sql_matches_its_snapshot_and_filters_on_the_partition_column(name):
    sql, partition_filter = CASES[name]
    path = SNAPSHOTS / name
    if os.environ.get("JRA_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql + "\n")
    assert sql + "\n" == path.read_text()
    assert partition_filter in sql


def row(t, start: datetime | None) -> dict:
    return {c: start if c == t.partition else "x" for c in t.column_names}


@pytest.mark.parametrize(
    ("name", "starts", "expected"),
    [
        pytest.param("BackendDisruption", [T0 + timedelta(days=2), T0], (T0, T0 + timedelta(days=2)), id="data-table"),
        pytest.param("JobRuns", [T0], (T0, T0), id="marker-table"),
        pytest.param("TestRuns", [T0, None], None, id="a-null-start-keeps-the-full-merge"),
        pytest.param("LoadProblems", [T0], None, id="detected-at-changes-on-retry"),
        pytest.param("Jobs", [None], None, id="unpartitioned"),
    ],
)
def test_partition_window(name, starts, expected):
    t = table(name)
    assert partition_window(t, [row(t, s) for s in starts]) == expected


def test_every_run_table_is_partitioned_on_the_run_start_and_clustered_by_job():
    for t in TABLES:
        if t.name in ("Jobs", "AlertKeys", "LoadProblems"):  # not per run
            continue
        assert t.partition in ("StartTime", "JobRunStartTime"), t.name
        assert t.clustering[0] == "JobName", t.name


@pytest.mark.emulator
def test_a_pruned_merge_still_finds_rows_loaded_by_an_earlier_batch(bigquery_url):
    wh = open_warehouse(bigquery_url)
    try:
        wh.create_tables()

        def disruption(run: str, start: datetime) -> dict:
            return {"BackendName": "kube-api", "JobRunName": run, "DisruptionSeconds": 3, "JobName": "j",
                    "JobRunStartTime": start}

        assert wh.load({"BackendDisruption": [disruption("1", T0)]}) == {"BackendDisruption": 1}
        # A later batch whose window starts at the earlier row's partition: that row is matched, not doubled.
        later = [disruption("1", T0), disruption("2", T0 + timedelta(days=3))]
        assert wh.load({"BackendDisruption": later}) == {"BackendDisruption": 1}
        rows = wh.query("SELECT JobRunName, COUNT(*) AS n FROM BackendDisruption GROUP BY JobRunName "
                        "ORDER BY JobRunName")
        assert [(r["JobRunName"], r["n"]) for r in rows] == [("1", 1), ("2", 1)]
    finally:
        wh.close()
