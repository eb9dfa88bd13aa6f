"""The dashboard's SQL on every warehouse (DuckDB, and BigQuery on the emulator): same text, numpy's numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.web.queries import Cell, cell_runs, daily_percentiles, releases

NOW = datetime(2026, 11, 28, 6, tzinfo=UTC)
AMD64 = "periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade"
ARM64 = "periodic-ci-openshift-multiarch-master-nightly-4.14-upgrade-from-stable-4.13-ocp-e2e-aws-ovn-arm64-upgrade"
# Day offset → seconds of each run that day, for the amd64 job (the cell under test).
DAYS = {1: [0, 0, 1, 5, 40], 2: [2, 3], 4: [0, 0, 0, 0, 0, 0, 121]}
BACKEND = "kube-api-new-connections"
CELL = Cell(BACKEND, ("4.14", "4.13", "aws", "amd64", "ovn", "ha"))


def disruption(job: str, run: int, start: datetime, backend: str, seconds: int) -> dict:
    return {"BackendName": backend, "JobRunName": str(run), "DisruptionSeconds": seconds, "JobName": job,
            "JobRunStartTime": start, "JobRunEndTime": start + timedelta(hours=2), "Cluster": "build01",
            "ReleaseTag": "", "MasterNodesUpdated": "Y", "JobRunStatus": "success"}


@pytest.fixture
def loaded(warehouse):
    rows, run = [], 1_000
    for day, values in DAYS.items():
        for i, seconds in enumerate(values):
            start = NOW - timedelta(days=day, minutes=10 * i)
            run += 1
            rows.append(disruption(AMD64, run, start, BACKEND, seconds))
            rows.append(disruption(AMD64, run, start, "other-backend", 999))  # another backend: not the cell
            run += 1
            rows.append(disruption(ARM64, run, start, BACKEND, 777))  # another architecture: not the cell
    run += 1
    rows.append(disruption(AMD64, run, NOW - timedelta(days=30), BACKEND, 555))  # before the window
    warehouse.create_tables()
    warehouse.load({"Jobs": [variant_for(AMD64).jobs_row(), variant_for(ARM64).jobs_row()],
                    "BackendDisruption": rows})
    return warehouse


def test_daily_percentiles_per_utc_day(loaded) -> None:
    rows = daily_percentiles(loaded, CELL, NOW - timedelta(days=7), NOW)
    got = {str(r["Day"])[:10]: r for r in rows}
    expected = {(NOW - timedelta(days=d)).date().isoformat(): v for d, v in DAYS.items()}
    assert got.keys() == expected.keys()
    for day, values in expected.items():
        assert got[day]["JobRuns"] == len(values)
        for p in (50, 95, 99):
            assert got[day][f"P{p}"] == pytest.approx(np.percentile(values, p), rel=1e-12), (day, p)


def test_cell_runs_are_the_cells_runs_worst_first(loaded) -> None:
    runs = cell_runs(loaded, CELL, NOW - timedelta(days=7), NOW)
    assert [r["Seconds"] for r in runs] == sorted((s for v in DAYS.values() for s in v), reverse=True)
    assert {r["JobName"] for r in runs} == {AMD64}
    assert runs[0]["JobRunName"] and runs[0]["Status"] == "success"


def test_values_reach_sql_only_as_parameters(loaded) -> None:
    hostile = Cell("x' OR '1'='1", ("4.14", "4.13' --", "aws", "amd64", "ovn", "ha"))
    assert cell_runs(loaded, hostile, NOW - timedelta(days=7), NOW) == []
    assert daily_percentiles(loaded, hostile, NOW - timedelta(days=7), NOW) == []


def test_releases(loaded) -> None:
    assert releases(loaded) == ["4.14"]
