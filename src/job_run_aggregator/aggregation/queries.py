"""The per-backend history of one job that the aggregated checks compare against (DESIGN §9), as one SQL text."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from job_run_aggregator.aggregation.checks import HistoricalStats
from job_run_aggregator.aggregation.junit_tests import TestHistory

HISTORY_STARTS_BEFORE = timedelta(days=10)
HISTORY_ENDS_BEFORE = timedelta(days=3)  # the newest runs may belong to the payload being judged

_PERCENTILE_COLUMNS = ",\n".join(
    f"  PERCENTILE_CONT(DisruptionSeconds, {p / 100:.2f}) OVER (PARTITION BY BackendName) AS P{p}"
    for p in range(1, 100)
)

# BigQuery dialect; parameters @job_name (STRING), @start and @end (TIMESTAMP), window [start, end).
# PERCENTILE_CONT is only an analytic function in BigQuery, hence the windows and DISTINCT instead of GROUP BY.
# STDDEV is the sample standard deviation in both engines (NULL for a single run).
HISTORICAL_STATS_SQL = f"""WITH runs AS (
  SELECT d.BackendName, d.DisruptionSeconds
  FROM BackendDisruption AS d
  INNER JOIN BackendDisruption_JobRuns AS r ON r.Name = d.JobRunName
  WHERE r.JobName = @job_name
    AND r.StartTime >= @start AND r.StartTime < @end
    -- '' keeps every run; 'Y' or 'N' keeps the runs with that MasterNodesUpdated (DESIGN §9.1, 2023-06)
    AND (@master_nodes_updated = '' OR r.MasterNodesUpdated = @master_nodes_updated)
    -- the same window on the denormalised partition column lets BigQuery prune partitions
    AND d.JobRunStartTime >= @start AND d.JobRunStartTime < @end
)
SELECT DISTINCT
  BackendName,
{_PERCENTILE_COLUMNS},
  AVG(DisruptionSeconds) OVER (PARTITION BY BackendName) AS Mean,
  STDDEV(DisruptionSeconds) OVER (PARTITION BY BackendName) AS StandardDeviation,
  COUNT(*) OVER (PARTITION BY BackendName) AS JobRuns
FROM runs
ORDER BY BackendName"""


def history_window(now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) of the history the checks use: 10 to 3 days before `now`."""
    return now - HISTORY_STARTS_BEFORE, now - HISTORY_ENDS_BEFORE


def history_params(job_name: str, now: datetime, master_nodes_updated: str = "") -> dict[str, Any]:
    """Parameters of HISTORICAL_STATS_SQL for one job judged at `now` ("" keeps every MasterNodesUpdated)."""
    start, end = history_window(now)
    return {"job_name": job_name, "start": start, "end": end, "master_nodes_updated": master_nodes_updated}


# The runs HISTORICAL_STATS_SQL would use, to decide on the previous-release fallback (DESIGN §9.1).
HISTORY_RUN_COUNT_SQL = """SELECT COUNT(*) AS JobRuns
FROM BackendDisruption_JobRuns AS r
WHERE r.JobName = @job_name
  AND r.StartTime >= @start AND r.StartTime < @end
  AND (@master_nodes_updated = '' OR r.MasterNodesUpdated = @master_nodes_updated)"""

TEST_HISTORY_RUNS = 200
TEST_HISTORY_DAYS = timedelta(days=21)

# Working percentages of every test of one job (DESIGN §9.2, TestRuns_Summary_Last200Runs): the job's last 200
# runs started within 21 days before @end, less the payload's own runs (@exclude_runs, never empty: BigQuery needs
# a typed array). One row per (run, suite, test) is classified as a pass, a failure, or a flake (both in one run).
TEST_HISTORY_SQL = """WITH runs AS (
  SELECT r.Name
  FROM JobRuns AS r
  WHERE r.JobName = @job_name
    AND r.StartTime >= @start AND r.StartTime < @end
    AND r.Name NOT IN UNNEST(@exclude_runs)
  ORDER BY r.StartTime DESC, r.Name DESC
  LIMIT 200
),
per_run AS (
  SELECT t.TestSuite, t.Name, t.JobRunName,
    MAX(CASE WHEN t.Status = 'Passed' THEN 1 ELSE 0 END) AS HasPass,
    MAX(CASE WHEN t.Status = 'Failed' THEN 1 ELSE 0 END) AS HasFailure
  FROM TestRuns AS t
  INNER JOIN runs ON runs.Name = t.JobRunName
  WHERE t.JobName = @job_name
    -- the partition column, so BigQuery scans only the window
    AND t.JobRunStartTime >= @start AND t.JobRunStartTime < @end
  GROUP BY t.TestSuite, t.Name, t.JobRunName
)
SELECT TestSuite, Name,
  SUM(CASE WHEN HasPass = 1 AND HasFailure = 0 THEN 1 ELSE 0 END) AS Passes,
  SUM(CASE WHEN HasPass = 0 AND HasFailure = 1 THEN 1 ELSE 0 END) AS Failures,
  SUM(CASE WHEN HasPass = 1 AND HasFailure = 1 THEN 1 ELSE 0 END) AS Flakes
FROM per_run
GROUP BY TestSuite, Name
ORDER BY TestSuite, Name"""


def test_history_params(job_name: str, now: datetime, exclude_runs: Sequence[str] = ()) -> dict[str, Any]:
    """Parameters of TEST_HISTORY_SQL: 21 days before `now`, the payload's runs excluded."""
    return {"job_name": job_name, "start": now - TEST_HISTORY_DAYS, "end": now,
            "exclude_runs": sorted(set(exclude_runs)) or [""]}


test_history_params.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def test_history_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], TestHistory]:
    """Turn TEST_HISTORY_SQL's rows into TestHistory keyed by (suite, test)."""
    return {
        (str(row["TestSuite"]), str(row["Name"])): TestHistory(int(row["Passes"]), int(row["Failures"]),
                                                              int(row["Flakes"]))
        for row in rows
    }


test_history_from_rows.__test__ = False  # type: ignore[attr-defined]


def historical_stats_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, HistoricalStats]:
    """Turn the query's rows into HistoricalStats keyed by backend name."""
    stats: dict[str, HistoricalStats] = {}
    for row in rows:
        stddev = row.get("StandardDeviation")
        stats[str(row["BackendName"])] = HistoricalStats(
            percentiles={p: float(row[f"P{p}"]) for p in range(1, 100) if row.get(f"P{p}") is not None},
            mean=float(row["Mean"]),
            stddev=None if stddev is None or math.isnan(float(stddev)) else float(stddev),
            count=int(row["JobRuns"]),
        )
    return stats
