"""The dashboard's own SQL: daily percentiles of one cell, every run of one cell, the releases present.

Same rules as history/percentiles.py: one text per query in BigQuery dialect with bare table names, values only as
`@param` parameters, and the window filtered on BackendDisruption's partition column (JobRunStartTime). A cell
is one backend and one variant (the six Jobs columns the export groups by).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from job_run_aggregator.history.percentiles import VARIANT
from job_run_aggregator.warehouse.base import Row, Warehouse

# Jobs column → query parameter; the parameter names are fixed, the values come from the request.
VARIANT_PARAMS = {
    "Release": "release",
    "FromRelease": "from_release",
    "Platform": "platform",
    "Architecture": "architecture",
    "Network": "network",
    "Topology": "topology",
}

_CELL_FILTER = " AND ".join(f"j.{column} = @{param}" for column, param in VARIANT_PARAMS.items())

_CELL_RUNS = f"""
  FROM BackendDisruption AS d JOIN Jobs AS j ON d.JobName = j.JobName
  WHERE d.JobRunStartTime >= @start AND d.JobRunStartTime < @end
    AND d.BackendName = @backend AND {_CELL_FILTER}"""

# Per UTC day of the run's start: BigQuery's PERCENTILE_CONT is analytic only, hence the window then GROUP BY
# (the shape of the export's query, so a day's P99 is computed exactly as the export computes a variant's).
TREND_SQL = f"""WITH runs AS (
  SELECT DATE(d.JobRunStartTime) AS Day, d.DisruptionSeconds AS Seconds{_CELL_RUNS}
), ranked AS (
  SELECT Day,
    PERCENTILE_CONT(Seconds, 0.99) OVER (PARTITION BY Day) AS P99,
    PERCENTILE_CONT(Seconds, 0.95) OVER (PARTITION BY Day) AS P95,
    PERCENTILE_CONT(Seconds, 0.5) OVER (PARTITION BY Day) AS P50
  FROM runs
)
SELECT Day, COUNT(*) AS JobRuns, ANY_VALUE(P50) AS P50, ANY_VALUE(P95) AS P95, ANY_VALUE(P99) AS P99
FROM ranked
GROUP BY Day
ORDER BY Day"""

CELL_RUNS_SQL = f"""SELECT d.JobRunName AS JobRunName, d.JobName AS JobName, d.JobRunStartTime AS StartTime,
  d.DisruptionSeconds AS Seconds, d.JobRunStatus AS Status, d.Cluster AS Cluster, d.ReleaseTag AS ReleaseTag,
  d.MasterNodesUpdated AS MasterNodesUpdated{_CELL_RUNS}
ORDER BY d.DisruptionSeconds DESC, d.JobRunStartTime DESC, d.JobRunName"""

RELEASES_SQL = "SELECT DISTINCT Release FROM Jobs"


@dataclass(frozen=True, slots=True)
class Cell:
    """One heat-map cell: a backend on one variant (Release … Topology as in the export)."""

    backend: str
    variant: tuple[str, str, str, str, str, str]  # in history.VARIANT order

    @property
    def variant_dict(self) -> dict[str, str]:
        return dict(zip(VARIANT, self.variant, strict=True))

    def matches(self, row: Mapping[str, Any], name_column: str = "BackendName") -> bool:
        """Tell whether an export row is this cell's."""
        return row.get(name_column) == self.backend and all(
            row.get(c) == v for c, v in zip(VARIANT, self.variant, strict=True)
        )

    def params(self, start: datetime, end: datetime) -> dict[str, Any]:
        values = dict(zip(VARIANT_PARAMS.values(), self.variant, strict=True))
        return {"start": start, "end": end, "backend": self.backend, **values}


def daily_percentiles(warehouse: Warehouse, cell: Cell, start: datetime, end: datetime) -> list[Row]:
    """P50/P95/P99 and run counts per UTC day for one cell (days without runs are absent)."""
    return warehouse.query(TREND_SQL, cell.params(start, end))


def cell_runs(warehouse: Warehouse, cell: Cell, start: datetime, end: datetime) -> list[Row]:
    """Every run of one cell in the window, worst first."""
    return warehouse.query(CELL_RUNS_SQL, cell.params(start, end))


def releases(warehouse: Warehouse) -> list[str]:
    """The releases of the Jobs table (unordered)."""
    return [str(r["Release"]) for r in warehouse.query(RELEASES_SQL) if r["Release"]]
