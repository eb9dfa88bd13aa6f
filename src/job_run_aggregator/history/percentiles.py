"""Historical data (DESIGN §7): P95/P99 per backend (or alert) and variant over a window, and the export.

One SQL text per query, BigQuery dialect, filtered on the partition column (JobRunStartTime) so BigQuery scans
only the window. Options change the text only through fixed, validated fragments — never user strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.history.formats import ALERTS, DISRUPTIONS, FileFormat, check_data_type, shape_row
from job_run_aggregator.history.results_file import ALERT_SCOPE_COLUMNS, render_query_results
from job_run_aggregator.model import DISRUPTION_DATA, VARIANT_COLUMNS, DataKind, check_days, data_kind
from job_run_aggregator.warehouse.base import Warehouse

# The alerts the seed's query kept (all 15 appear in origin's 2022 alerts file).
SEED_ALERT_NAMES = (
    "KubeAPIErrorBudgetBurn", "KubeClientErrors", "KubePersistentVolumeErrors", "MCDDrainError",
    "PrometheusOperatorWatchErrors", "VSphereOpenshiftNodeHealthFail", "etcdGRPCRequestsSlow",
    "etcdHighCommitDurations", "etcdHighFsyncDurations", "etcdHighNumberOfFailedGRPCRequests",
    "etcdHighNumberOfLeaderChanges", "etcdInsufficientMembers", "etcdMemberCommunicationSlow", "etcdMembersDown",
    "etcdNoLeader",
)
VARIANT = VARIANT_COLUMNS
# The real query's quirk: Architecture is grouped on but not partitioned on, so arm64 rows share amd64 values.
PARTITION = ("Network", "Platform", "Release", "FromRelease", "Topology")


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What to compute. Defaults are the real query's."""

    data_type: str = DISRUPTIONS
    now: datetime | None = None
    days: int | None = None  # default 21 (disruptions) / 7 (alerts)
    min_job_runs: int | None = None  # default 100 (disruptions) / 0 (alerts: the real alert query had none)
    percentiles: tuple[int, ...] = (95, 99)
    partition_by_architecture: bool = False
    split_master_nodes_updated: bool = False
    alert_names: tuple[str, ...] = ()
    release: str | None = None
    alert_scope: bool = False  # alerts keyed by name, namespace and level (formats a3, a4)
    observed: bool = False  # add FirstObserved/LastObserved per alert scope and release (format a4)

    def __post_init__(self) -> None:
        data_kind(self.data_type)  # ConfigError for anything but disruptions or alerts
        if self.days is not None:
            check_days(self.days)
        if (self.alert_scope or self.observed) and self.data_type != ALERTS:
            raise ConfigError("alert namespaces, levels and observation times exist for --data-type alerts only")
        if self.observed and not self.alert_scope:
            raise ConfigError("FirstObserved/LastObserved are per alert namespace and level: set alert_scope too")
        bad = [p for p in self.percentiles if not (isinstance(p, int) and 1 <= p <= 99)]
        if bad or not self.percentiles:
            raise ConfigError(f"--percentiles {self.percentiles}: give integers between 1 and 99")

    @property
    def window(self) -> tuple[datetime, datetime]:
        end = self.now or datetime.now(timezone.utc)
        # In UTC: aware arithmetic in a zone with daylight saving is wall-clock time, so 21 days there can be
        # 21×24 h ± 1 h. A naive `now` is UTC, as on the command line.
        end = end.replace(tzinfo=timezone.utc) if end.tzinfo is None else end.astimezone(timezone.utc)
        days = self.days if self.days is not None else self.kind.default_days
        return end - timedelta(days=days), end

    @property
    def kind(self) -> DataKind:
        return data_kind(self.data_type)

    @property
    def minimum(self) -> int:
        return self.min_job_runs if self.min_job_runs is not None else self.kind.default_min_job_runs

    @property
    def name_column(self) -> str:
        return self.kind.name_column

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The columns that name a row: the backend or alert, plus the alert's namespace and level when scoped."""
        return (self.name_column, *(ALERT_SCOPE_COLUMNS if self.alert_scope else ()))


def query_for_format(file_format: FileFormat, data_type: str | None = None, **options: Any) -> HistoryQuery:
    """Build the query whose rows have `file_format`'s columns; `options` are HistoryQuery's other fields.

    Raises:
        ConfigError: the format holds the other data type.
    """
    if data_type is not None:
        check_data_type(file_format, data_type)
    return HistoryQuery(
        data_type=file_format.data_type,
        percentiles=file_format.percentiles,
        split_master_nodes_updated=file_format.has_master_nodes_updated,
        alert_scope=file_format.has_alert_scope,
        observed=file_format.has_observed,
        **options,
    )


def percentile_sql(q: HistoryQuery, grouped: bool = False) -> str:
    """The BigQuery-dialect SQL for `q` (parameters: @start, @end, @min_job_runs, @alert_names, @release).

    `grouped`: the same rows from PERCENTILE_CONT as an aggregate, once per partition, joined to the groups —
    for engines that have the aggregate (DuckDB's quantile_cont; `Capabilities.percentile_aggregate`). DuckDB
    evaluates the analytic form once per row, 3-7x slower (benchmarks/percentiles.py); BigQuery has only the
    analytic form, so its text stays the real query's.
    """
    keys = q.key_columns
    extra = ("MasterNodesUpdated",) if q.split_master_nodes_updated else ()
    partition = (*keys, *PARTITION, *(("Architecture",) if q.partition_by_architecture else ()), *extra)
    group = (*keys, *VARIANT, *extra)
    pcts = sorted(set(q.percentiles), reverse=True)
    windows = ",\n    ".join(
        f"PERCENTILE_CONT(Seconds, {p / 100}) OVER (PARTITION BY {', '.join(partition)}) AS P{p}" for p in pcts
    )
    if q.kind is DISRUPTION_DATA:
        source = """
  SELECT d.BackendName AS BackendName, d.JobRunName AS JobRunName, d.DisruptionSeconds AS Seconds,
         COALESCE(d.MasterNodesUpdated, '') AS MasterNodesUpdated, j.Release AS Release,
         j.FromRelease AS FromRelease, j.Platform AS Platform, j.Architecture AS Architecture,
         j.Network AS Network, j.Topology AS Topology
  FROM BackendDisruption AS d JOIN Jobs AS j ON d.JobName = j.JobName
  WHERE d.JobRunStartTime >= @start AND d.JobRunStartTime < @end"""
    else:
        # One value per run and alert name (a1, a2: namespaces/levels of the same alert are summed), or per run
        # and alert name, namespace and level (a3, a4).
        scope = "a.Namespace AS AlertNamespace, a.Level AS AlertLevel, " if q.alert_scope else ""
        source = f"""
  SELECT a.Name AS AlertName, {scope}a.JobRunName AS JobRunName, SUM(a.AlertSeconds) AS Seconds,
         COALESCE(ANY_VALUE(a.MasterNodesUpdated), '') AS MasterNodesUpdated, j.Release AS Release,
         j.FromRelease AS FromRelease, j.Platform AS Platform, j.Architecture AS Architecture,
         j.Network AS Network, j.Topology AS Topology
  FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
  WHERE a.JobRunStartTime >= @start AND a.JobRunStartTime < @end"""
        if q.alert_names:
            source += " AND a.Name IN UNNEST(@alert_names)"
        source += (f"""
  GROUP BY a.Name, {"a.Namespace, a.Level, " if q.alert_scope else ""}a.JobRunName, """
                   "j.Release, j.FromRelease, j.Platform, j.Architecture, j.Network, j.Topology")
    if q.release:
        source = source.replace("  WHERE ", "  WHERE j.Release = @release AND ", 1)
    if grouped:
        return _grouped_sql(q, source, partition, group, pcts)
    picked = ", ".join(f"ANY_VALUE(P{p}) AS P{p}" for p in pcts)
    return f"""WITH runs AS ({source}
), ranked AS (
  SELECT *,
    {windows}
  FROM runs
)
SELECT {', '.join(group)}, COUNT(*) AS JobRuns, {picked}
FROM ranked
GROUP BY {', '.join(group)}
HAVING COUNT(*) >= @min_job_runs
ORDER BY {', '.join(group)}"""


def _grouped_sql(q: HistoryQuery, source: str, partition: tuple[str, ...], group: tuple[str, ...],
                 pcts: list[int]) -> str:
    """The grouped form: percentiles aggregated once per partition, counts per group, joined.

    The window's rows are aggregated on short keys — the name, the job and a partition number given to each
    distinct partition variant in Jobs — and the variant columns joined back on the (small) results: grouping
    9M rows on seven strings cost more than the percentiles. One PERCENTILE_CONT over the list of fractions
    sorts each partition once for all of them. `runs` is MATERIALIZED because it feeds two aggregates (DuckDB
    would join and filter the window twice). Not BigQuery syntax: only for engines declaring the capability.
    """
    name = q.name_column
    variant_partition = tuple(c for c in partition if c in VARIANT)  # Jobs columns the percentiles split on
    extra = tuple(c for c in partition if c not in VARIANT and c != name)  # MasterNodesUpdated when split
    source = source.replace("JOIN Jobs AS j", "JOIN ranked_jobs AS j")
    source = source.replace("j.Topology AS Topology", "j.Topology AS Topology, j.JobName AS JobName, "
                            "j.PartitionId AS PartitionId")
    if q.data_type == ALERTS:
        source += ", j.JobName, j.PartitionId"
    keys = (name, "PartitionId", *extra)
    fractions = ", ".join(str(p / 100) for p in pcts)
    picked_values = ", ".join(f"p.Ps[OFFSET({i})] AS P{p}" for i, p in enumerate(pcts))
    group_out = [f"r.{c}" if c in (name, *extra) else f"j.{c}" for c in group]
    return f"""WITH ranked_jobs AS (
  SELECT *, DENSE_RANK() OVER (ORDER BY {', '.join(variant_partition)}) AS PartitionId
  FROM Jobs
), runs AS MATERIALIZED ({source}
), per_job AS (
  SELECT {', '.join(keys)}, JobName, COUNT(*) AS n
  FROM runs
  GROUP BY {', '.join(keys)}, JobName
), groups AS (
  SELECT {', '.join(f'{c} AS {c.split(".")[1]}' for c in group_out)}, r.PartitionId AS PartitionId,
    SUM(r.n) AS JobRuns
  FROM per_job AS r JOIN ranked_jobs AS j ON r.JobName = j.JobName
  GROUP BY {', '.join(group_out)}, r.PartitionId
  HAVING SUM(r.n) >= @min_job_runs
), partitions AS (
  SELECT {', '.join(keys)}, PERCENTILE_CONT(Seconds, [{fractions}]) AS Ps
  FROM runs
  GROUP BY {', '.join(keys)}
)
SELECT {', '.join(f'g.{c}' for c in group)}, g.JobRuns, {picked_values}
FROM groups AS g JOIN partitions AS p ON {' AND '.join(f'g.{k} = p.{k}' for k in keys)}
ORDER BY {', '.join(f'g.{c}' for c in group)}"""


def percentile_params(q: HistoryQuery) -> dict[str, Any]:
    start, end = q.window
    params: dict[str, Any] = {"start": start, "end": end, "min_job_runs": q.minimum}
    if q.alert_names:
        params["alert_names"] = list(q.alert_names)
    if q.release:
        params["release"] = q.release
    return params


# The upstream Alerts_AllKnown view: every alert, namespace and level ever observed per release, with the first
# and last start time of a run of that release that observed it. Observed = fired (AlertSeconds > 0): the zero
# rows injected for known alerts would otherwise move LastObserved to the newest run forever. An alert only
# ever seen with 0 s falls back to the runs that recorded it at all. Not limited to the window, as upstream.
OBSERVED_SQL = ("SELECT a.Name AS AlertName, a.Namespace AS AlertNamespace, a.Level AS AlertLevel, "
                """j.Release AS Release,
  COALESCE(MIN(CASE WHEN a.AlertSeconds > 0 THEN a.JobRunStartTime END), MIN(a.JobRunStartTime)) AS FirstObserved,
  COALESCE(MAX(CASE WHEN a.AlertSeconds > 0 THEN a.JobRunStartTime END), MAX(a.JobRunStartTime)) AS LastObserved
FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
WHERE j.Release IN UNNEST(@releases)
GROUP BY a.Name, a.Namespace, a.Level, j.Release""")


def historical_rows(warehouse: Warehouse, q: HistoryQuery) -> list[dict[str, Any]]:
    """Run the percentile query; rows carry the name column, the variant, JobRuns and P<k> floats."""
    grouped = warehouse.capabilities.percentile_aggregate
    rows = warehouse.query(percentile_sql(q, grouped), percentile_params(q))
    observed = _observed(warehouse, {str(r["Release"]) for r in rows}) if q.observed else {}
    return [export_row(r, q, observed) for r in rows]


def _observed(warehouse: Warehouse, releases: set[str]) -> dict[tuple[str, ...], tuple[str, str]]:
    if not releases:
        return {}
    found = warehouse.query(OBSERVED_SQL, {"releases": sorted(releases)})
    return {
        (r["AlertName"], r["AlertNamespace"], r["AlertLevel"], r["Release"]): (
            format_observed(r["FirstObserved"]), format_observed(r["LastObserved"])
        )
        for r in found
    }


def format_observed(moment: datetime) -> str:
    """Render a time as origin's files do: RFC 3339 in UTC, fractional seconds only when there are any (Go's
    time.Time JSON), e.g. "2024-06-07T05:02:06Z"."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def export_row(r: Mapping[str, Any], q: HistoryQuery,
               observed: Mapping[tuple[str, ...], tuple[str, str]] | None = None) -> dict[str, Any]:
    """Order a result row's columns the way origin's files do (name, [scope], variant, [MasterNodesUpdated], runs,
    P…)."""
    out: dict[str, Any] = {k: r[k] for k in q.key_columns}
    if q.observed:
        first, last = (observed or {})[(r["AlertName"], r["AlertNamespace"], r["AlertLevel"], r["Release"])]
        out["FirstObserved"], out["LastObserved"] = first, last
    out.update({k: r[k] for k in VARIANT})
    if q.split_master_nodes_updated:
        out["MasterNodesUpdated"] = r["MasterNodesUpdated"]
    out["JobRuns"] = int(r["JobRuns"])
    main = [p for p in (95, 99) if p in q.percentiles]
    rest = sorted((p for p in q.percentiles if p not in (95, 99)), reverse=True)
    for p in [*main, *rest]:
        out[f"P{p}"] = None if r[f"P{p}"] is None else float(r[f"P{p}"])
    return out


def export_historical_data(warehouse: Warehouse, q: HistoryQuery, release: str | Sequence[str],
                           file_format: FileFormat | None = None) -> tuple[bytes, int]:
    """query_results.json bytes for `release` (one, or several in one file as origin's newest files hold them),
    in origin's exact format (`file_format`'s columns when given), and the number of rows in it."""
    releases = {release} if isinstance(release, str) else set(release)
    rows: list[dict[str, Any]] = [r for r in historical_rows(warehouse, q) if r["Release"] in releases]
    if file_format is not None:
        rows = [shape_row(r, file_format) for r in rows]
    return render_query_results(rows), len(rows)


def top_by_p99(rows: Iterable[Mapping[str, Any]], n: int = 5) -> list[Mapping[str, Any]]:
    return sorted(rows, key=lambda r: (-(r.get("P99") or 0.0), str(r)))[:n]


def parse_percentiles(text: str | None) -> tuple[int, ...]:
    if not text:
        return (95, 99)
    try:
        values = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"--percentiles {text!r}: give integers between 1 and 99, e.g. 50,75,95,99") from None
    if 95 not in values or 99 not in values:
        raise ConfigError(f"--percentiles {text!r}: must include 95 and 99 (origin's files always carry them)")
    return values


def parse_alert_names(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    if text == "seed":
        return SEED_ALERT_NAMES
    return tuple(n.strip() for n in text.split(",") if n.strip())
