"""`calibrated:TARGET`: allowances with a stated false-failure rate, from each cell's own history (issue 22).

Origin's allowance is max(P99 + 5 s, 1.2 × P99). A P99 over ~100 runs is close to the sample maximum, so how often
a healthy run fails depends on the cell's noise. Here the allowance is an upper order statistic of the cell's runs
instead: a distribution-free tolerance bound. For n exchangeable history runs, a new healthy run exceeds the
k-th largest value with probability at most k / (n + 1), with equality for continuous data and less with ties. So
k = floor(TARGET × (n + 1)) gives an expected false-failure rate of at most TARGET, whatever the distribution.
This needs no fitted tail, which a heavy, multi-modal disruption tail would break.

Origin's fallbacks stay: the match walks the `current` preset's chain (previous release only, ≥ 100 runs), and
a cell with too few runs for the target (k < 1, i.e. n + 1 < 1 / TARGET) gets `current`'s allowance.

The cell's runs are those of the last TAIL_DAYS (12 weeks) rather than the export's 21 days (see TAIL_DAYS).
The cell of the order statistic is the percentile partition of the export (name, Release, FromRelease, Platform,
Network, Topology; not Architecture, as the real query), so a calibrated cell holds the same runs as its P99.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.history.percentiles import (
    DISRUPTIONS,
    PARTITION,
    HistoryQuery,
    historical_rows,
    percentile_params,
)
from job_run_aggregator.history.results_file import render_query_results
from job_run_aggregator.matching.guessers import PREVIOUS
from job_run_aggregator.matching.keys import BACKEND, DataKey, JobType
from job_run_aggregator.matching.matcher import HistoricalData, load_historical
from job_run_aggregator.matching.presets import Preset, register_preset_family

if TYPE_CHECKING:
    from job_run_aggregator.warehouse.base import Warehouse

FAMILY = "calibrated"
TAIL_DEPTH = 64  # largest values kept per cell: enough for k up to 64 (TARGET 0.01 up to 6,400 runs)
# The cells' runs come from 12 weeks before the judged time, not the export's 21 days: at TARGET 0.01 the ~130
# runs of 21 days give k = 1, the sample maximum, which a single spike in the history decides (a spike of 300 s
# then hides every regression of the cell); 12 weeks give k ≈ 3-5, which one spike no longer decides.
TAIL_DAYS = 84


def parse_target(argument: str) -> Fraction:
    """The TARGET of `calibrated:TARGET`: a false-failure rate strictly between 0 and 1 (e.g. `0.01`).

    Raises:
        ConfigError: not a number in (0, 1).
    """
    try:
        target = Fraction(argument)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--rules calibrated:{argument}: TARGET must be a rate such as 0.01") from None
    if not 0 < target < 1:
        raise ConfigError(f"--rules calibrated:{argument}: TARGET must be between 0 and 1 (exclusive)")
    return target


def calibrated_preset(argument: str) -> Preset:
    """The preset of `calibrated:TARGET`: `current`'s match chain and thresholds (the allowance differs)."""
    parse_target(argument)
    return Preset(f"{FAMILY}:{argument}", (PREVIOUS,), True, False, True, None, None)


def is_calibrated(rules: str) -> bool:
    """Tell whether `rules` names a calibrated preset."""
    return rules.startswith(f"{FAMILY}:")


def target_of(rules: str) -> Fraction:
    """The TARGET of a `calibrated:TARGET` name."""
    return parse_target(rules.partition(":")[2])


def rank_from_top(runs: int, target: Fraction) -> int:
    """k = floor(TARGET × (runs + 1)), computed exactly: which largest value bounds the allowance (0: none does)."""
    return math.floor(target * (runs + 1))


def calibrated_allowance(largest: Sequence[float], runs: int, target: Fraction | float) -> float | None:
    """The (1 − TARGET) quantile of a cell's `runs` values (given largest first, at least k + 1 of them) at the
    (n + 1) plotting position: between the k-th and (k + 1)-th largest, k = floor(TARGET × (n + 1)), interpolated
    by the fractional part f of TARGET × (n + 1). None when the cell is too small (k < 1).

    A new healthy run exceeds the k-th largest with probability k / (n + 1) and the (k + 1)-th with (k + 1) /
    (n + 1); the interpolation lands on TARGET in expectation (Hyndman–Fan definition 6). When fewer values
    were kept than needed, the smallest kept one is used: larger, so the rate stays below TARGET.
    """
    exact = Fraction(target) * (runs + 1)
    k = math.floor(exact)
    if k < 1 or not largest:
        return None
    if k >= len(largest):
        return float(largest[-1])
    upper, lower = float(largest[k - 1]), float(largest[k])
    return upper - float(exact - k) * (upper - lower)


def expected_false_failure_rate(runs: int, target: Fraction | float) -> float:
    """TARGET when the cell is big enough for an allowance (k ≥ 1), else 0 (no allowance)."""
    return float(target) if rank_from_top(runs, Fraction(target)) >= 1 else 0.0


# ---- the cells' largest values, from the warehouse ---------------------------------------------------------------

CellKey = tuple[str, ...]  # (name, Release, FromRelease, Platform, Network, Topology[, Architecture])


@dataclass(frozen=True, slots=True)
class Tail:
    """A cell's run count and its largest values, largest first."""

    runs: int
    largest: tuple[float, ...]


def tail_sql(q: HistoryQuery) -> str:
    """BigQuery-dialect SQL: each cell's largest @depth values and run count over the window of `q`.

    The runs are the export's (same join, same window, same summing of an alert's namespaces and levels); the
    cells are its percentile partitions. Parameters: @start, @end, @depth (and @alert_names, @release as in the
    export).
    """
    name = q.name_column
    partition = (name, *PARTITION, *(("Architecture",) if q.partition_by_architecture else ()))
    if q.data_type == DISRUPTIONS:
        source = """
  SELECT d.BackendName AS BackendName, d.DisruptionSeconds AS Seconds, j.Release AS Release,
         j.FromRelease AS FromRelease, j.Platform AS Platform, j.Architecture AS Architecture,
         j.Network AS Network, j.Topology AS Topology
  FROM BackendDisruption AS d JOIN Jobs AS j ON d.JobName = j.JobName
  WHERE d.JobRunStartTime >= @start AND d.JobRunStartTime < @end"""
    else:
        source = """
  SELECT a.Name AS AlertName, SUM(a.AlertSeconds) AS Seconds, j.Release AS Release,
         j.FromRelease AS FromRelease, j.Platform AS Platform, j.Architecture AS Architecture,
         j.Network AS Network, j.Topology AS Topology
  FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
  WHERE a.JobRunStartTime >= @start AND a.JobRunStartTime < @end"""
        if q.alert_names:
            source += " AND a.Name IN UNNEST(@alert_names)"
        source += """
  GROUP BY a.Name, a.JobRunName, j.Release, j.FromRelease, j.Platform, j.Architecture, j.Network, j.Topology"""
    if q.release:
        source = source.replace("  WHERE ", "  WHERE j.Release = @release AND ", 1)
    cols = ", ".join(partition)
    return f"""WITH runs AS ({source}
), ranked AS (
  SELECT {cols}, Seconds,
    ROW_NUMBER() OVER (PARTITION BY {cols} ORDER BY Seconds DESC) AS TailRank,
    COUNT(*) OVER (PARTITION BY {cols}) AS CellRuns
  FROM runs
)
SELECT {cols}, TailRank, Seconds, CellRuns
FROM ranked
WHERE TailRank <= @depth
ORDER BY {cols}, TailRank"""


def read_tails(
    warehouse: Warehouse, q: HistoryQuery, depth: int = TAIL_DEPTH, days: int | None = TAIL_DAYS
) -> dict[CellKey, Tail]:
    """Each cell's run count and largest values over the `days` before the end of `q`'s window (at least its
    own window; None: exactly its window)."""
    if days is not None:
        start, _ = q.window
        own = q.days if q.days is not None else round((q.window[1] - start).total_seconds() / 86_400)
        q = replace(q, days=max(own, days))
    params = {**percentile_params(q), "depth": depth}
    params.pop("min_job_runs", None)
    return tails_from_rows(warehouse.query(tail_sql(q), params), q)


def tails_from_rows(rows: Iterable[Mapping[str, Any]], q: HistoryQuery) -> dict[CellKey, Tail]:
    """Group tail_sql's rows (ordered by cell, then rank) into Tails."""
    # The cell key's order is cell_of's, whatever the order of the SQL's partition columns.
    columns = (q.name_column, "Release", "FromRelease", "Platform", "Network", "Topology")
    partition = (*columns, *(("Architecture",) if q.partition_by_architecture else ()))
    grouped: dict[CellKey, tuple[int, list[float]]] = {}
    for row in rows:
        key = tuple(str(row[c]) for c in partition)
        _, values = grouped.setdefault(key, (int(row["CellRuns"]), []))
        values.append(float(row["Seconds"]))
    return {key: Tail(runs, tuple(sorted(values, reverse=True))) for key, (runs, values) in grouped.items()}


def cell_of(key: DataKey, by_architecture: bool = False) -> CellKey:
    """The partition cell a historical row's key belongs to."""
    jt = key.job_type
    cell = (key.name, jt.release, jt.from_release, jt.platform, jt.network, jt.topology)
    return (*cell, jt.architecture) if by_architecture else cell


def allowances_for(
    data: HistoricalData, tails: Mapping[CellKey, Tail], target: Fraction | float, by_architecture: bool = False
) -> dict[DataKey, float]:
    """The calibrated allowance of every row of `data` whose cell is big enough for `target`."""
    out: dict[DataKey, float] = {}
    for key in data.rows:
        tail = tails.get(cell_of(key, by_architecture))
        if tail is None:
            continue
        allowance = calibrated_allowance(tail.largest, tail.runs, target)
        if allowance is not None:
            out[key] = allowance
    return out


def calibration_rows(
    data: HistoricalData, tails: Mapping[CellKey, Tail], target: Fraction | float, by_architecture: bool = False
) -> list[dict[str, Any]]:
    """The rows of a calibration file: each historical row's key columns, its cell's run count and largest values
    (so any target can be applied later), and the allowance at `target` (null when the cell is too small)."""
    rows = []
    for key in sorted(data.rows, key=lambda k: (k.name, k.job_type.values())):
        tail = tails.get(cell_of(key, by_architecture))
        if tail is None:
            continue
        jt = key.job_type
        rows.append({
            "BackendName" if data.kind == BACKEND else "AlertName": key.name, "Release": jt.release,
            "FromRelease": jt.from_release, "Platform": jt.platform, "Architecture": jt.architecture,
            "Network": jt.network, "Topology": jt.topology, "CellRuns": tail.runs,
            "Target": str(target), "Allowance": calibrated_allowance(tail.largest, tail.runs, target),
            "Largest": list(tail.largest),
        })
    return rows


def export_calibration(warehouse: Warehouse, q: HistoryQuery, target: Fraction | float) -> tuple[bytes, int]:
    """A calibration file for the historical data `q` exports (every release): JSON, one row per historical row."""
    data = load_historical(render_query_results(historical_rows(warehouse, q)), "export", None)
    rows = calibration_rows(data, read_tails(warehouse, q), target, q.partition_by_architecture)
    return json.dumps(rows, indent=2).encode() + b"\n", len(rows)


def load_calibration(data: bytes, path: str) -> dict[DataKey, Tail]:
    """Read a calibration file: historical key → its cell's runs and largest values.

    Raises:
        InputError: not a JSON array of calibration rows.
    """
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"not valid JSON ({error}); expected a calibration file (export-calibration)", path) from None
    if not isinstance(document, list):
        raise InputError("expected a JSON array of calibration rows (export-calibration)", path)
    out: dict[DataKey, Tail] = {}
    for index, row in enumerate(document):
        try:
            name = row.get("BackendName", row.get("AlertName"))
            fields = [row[c] for c in ("Release", "FromRelease", "Platform", "Architecture", "Network", "Topology")]
            largest = tuple(sorted((float(v) for v in row["Largest"]), reverse=True))
            runs = int(row["CellRuns"])
            if not isinstance(name, str) or not all(isinstance(f, str) for f in fields) or runs < len(largest):
                raise ValueError
            if not all(math.isfinite(v) and v >= 0 for v in largest):  # a NaN allowance would pass everything
                raise ValueError
        except (AttributeError, KeyError, TypeError, ValueError):
            raise InputError(f"row {index}: expected BackendName or AlertName, the six JobType columns, "
                             "CellRuns and Largest (a list of seconds)", path) from None
        out[DataKey(name, JobType(*fields))] = Tail(runs, largest)
    return out


def allowances_from_calibration(tails: Mapping[DataKey, Tail], target: Fraction | float) -> dict[DataKey, float]:
    """The allowance at `target` of every key of a loaded calibration file whose cell is big enough."""
    out = {}
    for key, tail in tails.items():
        allowance = calibrated_allowance(tail.largest, tail.runs, target)
        if allowance is not None:
            out[key] = allowance
    return out


def calibrated_allowances_for_rules(rules: str, calibration: Path | None) -> dict[DataKey, float] | None:
    """check-run's allowances: None for origin's rule sets; from the `calibration` file for calibrated:TARGET.

    Raises:
        ConfigError: a calibrated rule set without a calibration file, or a calibration file with another rule set.
        InputError: the file cannot be read or is not a calibration file.
    """
    if not is_calibrated(rules):
        if calibration is not None:
            raise ConfigError(f"--calibration is only used with --rules calibrated:TARGET, not {rules!r}")
        return None
    if calibration is None:
        raise ConfigError(f"--rules {rules} needs --calibration FILE (written by export-calibration)")
    try:
        data = calibration.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", str(calibration)) from None
    return allowances_from_calibration(load_calibration(data, str(calibration)), target_of(rules))


register_preset_family(FAMILY, calibrated_preset)
