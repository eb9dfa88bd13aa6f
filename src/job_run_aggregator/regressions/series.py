"""The per-run series the change-point detection reads, from the warehouse (DuckDB or BigQuery).

Two SQL texts in BigQuery dialect (transpiled for DuckDB by the warehouse, as history/percentiles.py's are), both
filtered on the partition column (JobRunStartTime) so BigQuery scans only the window:

- SCREEN: one row per series (Name × Release, FromRelease, Platform, Architecture, Network, Topology) with its
  runs' seconds in run-start order as one comma-joined string. A string per series, not a row per run: at a
  year's volume a 42-day window holds ~2M (run, backend) rows, and one string per series crosses into Python an
  order of magnitude faster than two million row dicts.
- RUNS: every run of a few chosen series with its job, run id and release tag, for the series where the screen
  found a change (the change points are computed again on these rows, so a run loaded between the two queries
  cannot shift the reported first run).

Values reach the SQL only as parameters; the release filter is a fixed fragment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS, VARIANT
from job_run_aggregator.model import check_days
from job_run_aggregator.warehouse.base import Warehouse

DEFAULT_DAYS = 42
SERIES_COLUMNS = ("Name", *VARIANT)
# Same order in both queries and in Python: a series' runs by start time, ties by run id.
_ORDER = "StartTime, JobRunName"

_DISRUPTION_RUNS = """
  SELECT d.BackendName AS Name, j.Release AS Release, j.FromRelease AS FromRelease, j.Platform AS Platform,
         j.Architecture AS Architecture, j.Network AS Network, j.Topology AS Topology, d.JobName AS JobName,
         d.JobRunName AS JobRunName, d.ReleaseTag AS ReleaseTag, d.JobRunStartTime AS StartTime,
         d.DisruptionSeconds AS Seconds
  FROM BackendDisruption AS d JOIN Jobs AS j ON d.JobName = j.JobName
  WHERE d.JobRunStartTime >= @start AND d.JobRunStartTime < @end"""

# One value per run and alert name: namespaces and levels of one alert are summed (as the export does).
_ALERT_RUNS = """
  SELECT a.Name AS Name, j.Release AS Release, j.FromRelease AS FromRelease, j.Platform AS Platform,
         j.Architecture AS Architecture, j.Network AS Network, j.Topology AS Topology, a.JobName AS JobName,
         a.JobRunName AS JobRunName, a.ReleaseTag AS ReleaseTag, a.JobRunStartTime AS StartTime,
         SUM(a.AlertSeconds) AS Seconds
  FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
  WHERE a.JobRunStartTime >= @start AND a.JobRunStartTime < @end"""
_ALERT_GROUP = """
  GROUP BY a.Name, j.Release, j.FromRelease, j.Platform, j.Architecture, j.Network, j.Topology, a.JobName,
           a.JobRunName, a.ReleaseTag, a.JobRunStartTime"""


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """Which series: the data type, the window (`days` before `now`), one release or all, and the minimum runs."""

    data_type: str = DISRUPTIONS
    now: datetime | None = None
    days: int = DEFAULT_DAYS
    release: str | None = None
    min_runs: int = 20

    def __post_init__(self) -> None:
        if self.data_type not in (DISRUPTIONS, ALERTS):
            raise ConfigError(f"--data-type {self.data_type!r}: choose disruptions or alerts")
        check_days(self.days)
        if self.min_runs < 0:
            raise ConfigError(f"--min-runs {self.min_runs}: must not be negative")

    @property
    def window(self) -> tuple[datetime, datetime]:
        end = self.now or datetime.now(UTC).replace(microsecond=0)
        end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
        return end - timedelta(days=self.days), end


SeriesKey = tuple[str, str, str, str, str, str, str]  # Name, then VARIANT


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a series."""

    job_name: str
    job_run_name: str
    release_tag: str
    start: datetime
    seconds: float


def _runs_cte(q: SeriesQuery) -> str:
    source = _DISRUPTION_RUNS if q.data_type == DISRUPTIONS else _ALERT_RUNS
    if q.release:
        source += " AND j.Release = @release"
    if q.data_type == ALERTS:
        source += _ALERT_GROUP
    return source


def screen_sql(q: SeriesQuery) -> str:
    """One row per series with at least @min_runs runs: its key, Runs, and Seconds ("0,3,0,…" in run order)."""
    key = ", ".join(SERIES_COLUMNS)
    return f"""WITH runs AS ({_runs_cte(q)}
)
SELECT {key}, COUNT(*) AS Runs,
  STRING_AGG(CAST(Seconds AS STRING), ',' ORDER BY {_ORDER}) AS Seconds
FROM runs
GROUP BY {key}
HAVING COUNT(*) >= @min_runs
ORDER BY {key}"""


def runs_sql(q: SeriesQuery) -> str:
    """Every run of the series whose '|'-joined key is in @keys (and name in @names), in series order."""
    key = ", ".join(SERIES_COLUMNS)
    joined = ", '|', ".join(SERIES_COLUMNS)
    return f"""WITH runs AS ({_runs_cte(q)}
)
SELECT {key}, JobName, JobRunName, ReleaseTag, StartTime, Seconds
FROM runs
WHERE Name IN UNNEST(@names) AND CONCAT({joined}) IN UNNEST(@keys)
ORDER BY {key}, {_ORDER}"""


def _params(q: SeriesQuery) -> dict[str, Any]:
    start, end = q.window
    params: dict[str, Any] = {"start": start, "end": end}
    if q.release:
        params["release"] = q.release
    return params


def _key(row: dict[str, Any]) -> SeriesKey:
    return tuple(str(row[c]) for c in SERIES_COLUMNS)  # type: ignore[return-value]  # seven by construction


def load_series(warehouse: Warehouse, q: SeriesQuery) -> list[tuple[SeriesKey, np.ndarray]]:
    """Every series of the window with at least `q.min_runs` runs, as (key, seconds in run order)."""
    rows = warehouse.query(screen_sql(q), {**_params(q), "min_runs": q.min_runs})
    # Seconds are whole numbers (INTEGER columns, summed); int() per item is twice as fast as a str → float array.
    return [(_key(r), np.array(list(map(int, str(r["Seconds"]).split(","))), dtype=float)) for r in rows]


def load_runs(warehouse: Warehouse, q: SeriesQuery, keys: Iterable[SeriesKey]) -> dict[SeriesKey, list[Run]]:
    """The runs of the given series, in run order (series without runs in the window are absent)."""
    wanted = set(keys)
    if not wanted:
        return {}
    # Name first: an equality the engines evaluate cheaply before building the joined key of every row.
    params = {**_params(q), "names": sorted({k[0] for k in wanted}), "keys": sorted("|".join(k) for k in wanted)}
    out: dict[SeriesKey, list[Run]] = {}
    for row in warehouse.query(runs_sql(q), params):
        # bqemulator 1.4 answers this query (CTE + CONCAT … IN UNNEST + ORDER BY) with lower-cased column names;
        # BigQuery and DuckDB keep the aliases' case. Read the columns case-blind.
        r = {k.lower(): v for k, v in row.items()}
        key: SeriesKey = tuple(str(r[c.lower()]) for c in SERIES_COLUMNS)  # type: ignore[assignment]
        if key not in wanted:  # a name holding '|' can match another series' joined key: keep exact matches only
            continue
        out.setdefault(key, []).append(Run(str(r["jobname"]), str(r["jobrunname"]), str(r["releasetag"] or ""),
                                           _utc(r["starttime"]), float(r["seconds"])))
    return out


def seconds_of(runs: Sequence[Run]) -> np.ndarray:
    return np.array([r.seconds for r in runs], dtype=float)


def _utc(moment: Any) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
