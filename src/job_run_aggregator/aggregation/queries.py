"""The per-backend history of one job that the aggregated checks compare against (DESIGN §9), as one SQL text."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from job_run_aggregator.aggregation.checks import HistoricalStats

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


def history_params(job_name: str, now: datetime) -> dict[str, Any]:
    """Parameters of HISTORICAL_STATS_SQL for one job judged at `now`."""
    start, end = history_window(now)
    return {"job_name": job_name, "start": start, "end": end}


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
