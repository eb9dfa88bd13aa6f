from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pytest
import sqlglot

from job_run_aggregator.aggregation.checks import HistoricalStats, check_disruption
from job_run_aggregator.aggregation.queries import (
    HISTORICAL_STATS_SQL,
    historical_stats_from_rows,
    history_params,
    history_window,
)

NOW = datetime(2023, 2, 20, 12, 0, tzinfo=UTC)
JOB = "periodic-ci-openshift-release-master-ci-4.13-e2e-aws-ovn-upgrade"
OTHER_JOB = "periodic-ci-openshift-release-master-ci-4.13-e2e-gcp-ovn-upgrade"

JOB_RUNS_DDL = """CREATE TABLE BackendDisruption_JobRuns (
  Name VARCHAR NOT NULL, JobName VARCHAR, Status VARCHAR, StartTime TIMESTAMPTZ NOT NULL, EndTime TIMESTAMPTZ,
  ReleaseTag VARCHAR, Cluster VARCHAR, MasterNodesUpdated VARCHAR)"""
DISRUPTION_DDL = """CREATE TABLE BackendDisruption (
  BackendName VARCHAR NOT NULL, JobRunName VARCHAR NOT NULL, DisruptionSeconds BIGINT NOT NULL, JobName VARCHAR,
  JobRunStartTime TIMESTAMPTZ, JobRunEndTime TIMESTAMPTZ, Cluster VARCHAR, ReleaseTag VARCHAR,
  MasterNodesUpdated VARCHAR, JobRunStatus VARCHAR)"""


def transpiled() -> str:
    return sqlglot.transpile(HISTORICAL_STATS_SQL, read="bigquery", write="duckdb")[0]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone='UTC'")
    connection.execute(JOB_RUNS_DDL)
    connection.execute(DISRUPTION_DDL)
    yield connection
    connection.close()


def add_run(con: duckdb.DuckDBPyConnection, job: str, run: str, start: datetime, seconds: dict[str, int]) -> None:
    con.execute(
        "INSERT INTO BackendDisruption_JobRuns VALUES (?, ?, 'success', ?, ?, '4.13.0-0.ci', 'build01', 'N')",
        [run, job, start, start + timedelta(hours=2)],
    )
    for backend, value in seconds.items():
        con.execute(
            "INSERT INTO BackendDisruption VALUES (?, ?, ?, ?, ?, ?, 'build01', '4.13.0-0.ci', 'N', 'success')",
            [backend, run, value, job, start, start + timedelta(hours=2)],
        )


def query(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    cursor = con.execute(transpiled(), history_params(JOB, NOW))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_history_window_is_10_to_3_days_before_now() -> None:
    assert history_window(NOW) == (datetime(2023, 2, 10, 12, tzinfo=UTC), datetime(2023, 2, 17, 12, tzinfo=UTC))
    assert history_params(JOB, NOW) == {"job_name": JOB, "start": history_window(NOW)[0],
                                        "end": history_window(NOW)[1], "master_nodes_updated": ""}


def test_sql_is_one_bigquery_text_with_all_percentiles() -> None:
    for p in (1, 50, 70, 85, 95, 99):
        assert f"PERCENTILE_CONT(DisruptionSeconds, {p / 100:.2f}) OVER (PARTITION BY BackendName) AS P{p}" in (
            HISTORICAL_STATS_SQL
        )
    assert "@job_name" in HISTORICAL_STATS_SQL and "@start" in HISTORICAL_STATS_SQL and "@end" in HISTORICAL_STATS_SQL
    assert "QUANTILE_CONT(DisruptionSeconds, 0.95)" in transpiled()


def test_stats_match_numpy_on_duckdb(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(7)
    start, end = history_window(NOW)
    expected: dict[str, list[int]] = {"kube-api-new-connections": [], "ingress-to-console-new-connections": []}
    for index in range(40):
        started = start + timedelta(minutes=250 * index)  # spread over the 7-day window
        assert started < end
        values = {"kube-api-new-connections": rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 13, 40])}
        if index % 2:
            values["ingress-to-console-new-connections"] = rng.randint(0, 9)
        for backend, value in values.items():
            expected[backend].append(value)
        add_run(con, JOB, f"1620{index:04d}", started, values)
    add_run(con, JOB, "16200100", start, {"lonely-backend": 4})
    # outside the window, or another job: must not count
    add_run(con, JOB, "16200200", start - timedelta(seconds=1), {"kube-api-new-connections": 999})
    add_run(con, JOB, "16200201", end, {"kube-api-new-connections": 999})
    add_run(con, JOB, "16200202", NOW - timedelta(days=1), {"kube-api-new-connections": 999})
    add_run(con, OTHER_JOB, "16200203", start + timedelta(days=1), {"kube-api-new-connections": 999})

    rows = query(con)
    assert [r["BackendName"] for r in rows] == sorted([*expected, "lonely-backend"])
    stats = historical_stats_from_rows(rows)
    for backend, values in expected.items():
        got = stats[backend]
        assert got.count == len(values)
        assert got.mean == pytest.approx(np.mean(values))
        assert got.stddev == pytest.approx(np.std(values, ddof=1))
        for p in range(1, 100):
            assert got.percentiles[p] == pytest.approx(np.percentile(values, p, method="linear")), (backend, p)
    assert stats["lonely-backend"] == HistoricalStats(
        percentiles={p: 4.0 for p in range(1, 100)}, mean=4.0, stddev=None, count=1
    )


def test_no_history_gives_no_rows_and_skips(con: duckdb.DuckDBPyConnection) -> None:
    add_run(con, OTHER_JOB, "1", history_window(NOW)[0] + timedelta(days=1), {"kube-api-new-connections": 1})
    stats = historical_stats_from_rows(query(con))
    assert stats == {}
    results = check_disruption({"kube-api-new-connections": [("a", 0), ("b", 0), ("c", 0)]}, stats, job_name=JOB)
    assert [r.status for r in results] == ["passed"] + ["skipped"] * 5
