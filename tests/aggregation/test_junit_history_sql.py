"""The aggregation's SQL on every warehouse (DuckDB, and BigQuery on the emulator): one text, same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from job_run_aggregator.aggregation.junit_tests import TestHistory
from job_run_aggregator.aggregation.queries import (
    HISTORICAL_STATS_SQL,
    HISTORY_RUN_COUNT_SQL,
    TEST_HISTORY_SQL,
    historical_stats_from_rows,
    history_params,
    test_history_from_rows,
    test_history_params,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)
JOB, OTHER = "job-a", "job-b"


def job_run(name: str, job: str, start: datetime, updated: str = "N") -> dict:
    return {"Name": name, "JobName": job, "Status": "success", "StartTime": start, "EndTime": start + timedelta(hours=2),
            "ReleaseTag": "", "Cluster": "build01", "MasterNodesUpdated": updated}


def test_row(run: str, job: str, start: datetime, name: str, status: str, suite: str = "s") -> dict:
    return {"Name": name, "JobRunName": run, "JobName": job, "Status": status, "TestSuite": suite,
            "JobRunStartTime": start}


test_row.__test__ = False  # type: ignore[attr-defined]


def test_working_percentages_over_the_last_200_runs_of_the_job(warehouse) -> None:
    warehouse.create_tables()
    runs, tests = [], []
    for i in range(210):  # the oldest 10 fall out of the last 200
        start = NOW - timedelta(days=20) + timedelta(minutes=90 * i)
        run = f"{1000 + i}"
        runs.append(job_run(run, JOB, start))
        tests.append(test_row(run, JOB, start, "t", "Failed" if i < 10 or i % 50 == 0 else "Passed"))
        if i % 40 == 0:
            tests.append(test_row(run, JOB, start, "u", "Failed", suite="s|||inner"))
    old = NOW - timedelta(days=22)  # outside the 21 days
    runs.append(job_run("0900", JOB, old))
    tests.append(test_row("0900", JOB, old, "t", "Failed"))
    runs.append(job_run("0901", OTHER, NOW - timedelta(days=1)))  # another job
    tests.append(test_row("0901", OTHER, NOW - timedelta(days=1), "t", "Failed"))
    payload = f"{1000 + 209}"  # the payload's own run is not history
    warehouse.load({"JobRuns": runs, "TestRuns": tests})
    rows = warehouse.query(TEST_HISTORY_SQL, test_history_params(JOB, NOW, [payload]))
    history = test_history_from_rows(rows)
    # Runs 9..208 are the last 200 without the payload's: failures at 9, 50, 100, 150, 200.
    assert history[("s", "t")] == TestHistory(195, 5, 0)
    assert history[("s", "t")].working_percent == 97
    assert history[("s|||inner", "u")] == TestHistory(0, 5, 0)  # 40, 80, 120, 160, 200
    everything = test_history_from_rows(warehouse.query(TEST_HISTORY_SQL, test_history_params(JOB, NOW)))
    assert everything[("s", "t")] == TestHistory(196, 4, 0)  # runs 10..209: failures at 50, 100, 150, 200
    assert warehouse.query(TEST_HISTORY_SQL, test_history_params("nobody", NOW)) == []


def test_master_nodes_updated_filters_history_and_the_run_count(warehouse) -> None:
    warehouse.create_tables()
    runs, rows = [], []
    for i in range(12):
        start = NOW - timedelta(days=9) + timedelta(hours=10 * i)
        updated = "Y" if i % 3 == 0 else "N"
        run = f"{2000 + i}"
        runs.append(job_run(run, JOB, start, updated))
        rows.append({"BackendName": "b", "JobRunName": run, "DisruptionSeconds": 100 if updated == "Y" else 1,
                     "JobName": JOB, "JobRunStartTime": start, "JobRunEndTime": start + timedelta(hours=2),
                     "Cluster": "build01", "ReleaseTag": "", "MasterNodesUpdated": updated,
                     "JobRunStatus": "success"})
    warehouse.load({"BackendDisruption_JobRuns": runs, "BackendDisruption": rows})

    def count(updated: str) -> int:
        return int(warehouse.query(HISTORY_RUN_COUNT_SQL, history_params(JOB, NOW, updated))[0]["JobRuns"])

    assert (count(""), count("Y"), count("N")) == (12, 4, 8)
    stats = historical_stats_from_rows(warehouse.query(HISTORICAL_STATS_SQL, history_params(JOB, NOW, "Y")))
    assert stats["b"].count == 4 and stats["b"].mean == 100
    stats = historical_stats_from_rows(warehouse.query(HISTORICAL_STATS_SQL, history_params(JOB, NOW, "")))
    assert stats["b"].count == 12 and stats["b"].mean == 34
