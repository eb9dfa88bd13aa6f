"""`calibrated:TARGET[:SECONDS]`: allowances with a stated false-failure rate, from the cells' own history (issue 22).

Origin's allowance is max(P99 + 5 s, 1.2 × P99). A P99 over ~100 runs is close to the sample maximum, so how often
a healthy run fails depends on the cell's noise. Here each cell's allowance is one of its largest values, chosen
under one pooled budget (pooled_allowances):

- A cell's candidates are its largest values. For n exchangeable history runs, a new healthy run exceeds the
  value A with probability (#{x > A} + 1) / (n + 1) (k / (n + 1) for the k-th largest, without ties; fewer with
  ties), whatever the distribution: no fitted tail, which a heavy, multi-modal disruption tail would break.
  A run with a step of SECONDS (default 30) exceeds A with the share of history runs with x + SECONDS > A.
- The budget is overall: the run-weighted expected false-failure rate over all cells is at most TARGET. The
  greedy spends it where it buys the most detection of a SECONDS step per false failure: a quiet cell that sees
  every step at its maximum gets its maximum (rate 1 / (n + 1)); a heavy-tailed cell gets more. A per-cell cap
  (CELL_CAP × TARGET, 3 %) keeps one cell from being sacrificed. Budget that buys no detection stays unspent, so
  the measured rate can sit below TARGET.

Origin's fallbacks stay: the match walks the `current` preset's chain (previous release only, ≥ 100 runs), and
a cell with too few runs for the target (floor(TARGET × (n + 1)) < 1) gets `current`'s allowance and no budget.

The cell's runs are those of the last TAIL_DAYS (12 weeks) rather than the export's 21 days (see TAIL_DAYS).
The cell is the percentile partition of the export (name, Release, FromRelease, Platform, Network, Topology; not
Architecture, as the real query), so a calibrated cell holds the same runs as its P99. A cell keeps its TAIL_DEPTH
largest values; for a bigger cell, runs below them count as not detected (its detection is then underestimated,
never its rate).
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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
TAIL_DEPTH = 512  # largest values kept per cell: k up to 512, and the values a step of SECONDS lifts above an allowance
# The cells' runs come from 12 weeks before the judged time, not the export's 21 days: at TARGET 0.01 the ~130
# runs of 21 days give k = 1, the sample maximum, which a single spike in the history decides (a spike of 300 s
# then hides every regression of the cell); 12 weeks give k ≈ 3-5, which one spike no longer decides.
TAIL_DAYS = 84
DEFAULT_STEP_SECONDS = Fraction(30)  # the step `calibrated:TARGET` is tuned to detect (calibrated:TARGET:SECONDS)
CELL_CAP = 3  # the pooled budget gives no cell an expected false-failure rate above CELL_CAP × TARGET

K = TypeVar("K")


def parse_target(argument: str) -> Fraction:
    """The TARGET of `calibrated:TARGET[:SECONDS]`: a false-failure rate strictly between 0 and 1 (e.g. `0.01`).

    Raises:
        ConfigError: not a number in (0, 1).
    """
    text = argument.partition(":")[0]
    try:
        target = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--rules calibrated:{argument}: TARGET must be a rate such as 0.01") from None
    if not 0 < target < 1:
        raise ConfigError(f"--rules calibrated:{argument}: TARGET must be between 0 and 1 (exclusive)")
    return target


def parse_step_seconds(argument: str) -> Fraction:
    """The SECONDS of `calibrated:TARGET:SECONDS` (default DEFAULT_STEP_SECONDS): the step to detect.

    Raises:
        ConfigError: not a positive finite number of seconds.
    """
    _, colon, text = argument.partition(":")
    if not colon:
        return DEFAULT_STEP_SECONDS
    try:
        seconds = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--rules calibrated:{argument}: SECONDS must be a number of seconds such as 30") from None
    if seconds <= 0:
        raise ConfigError(f"--rules calibrated:{argument}: SECONDS must be positive")
    return seconds


def calibrated_preset(argument: str) -> Preset:
    """The preset of `calibrated:TARGET[:SECONDS]`: `current`'s match chain and thresholds (the allowance differs)."""
    parse_target(argument)
    parse_step_seconds(argument)
    return Preset(f"{FAMILY}:{argument}", (PREVIOUS,), True, False, True, None, None)


def is_calibrated(rules: str) -> bool:
    """Tell whether `rules` names a calibrated preset."""
    return rules.startswith(f"{FAMILY}:")


def target_of(rules: str) -> Fraction:
    """The TARGET of a `calibrated:TARGET[:SECONDS]` name."""
    return parse_target(rules.partition(":")[2])


def step_seconds_of(rules: str) -> Fraction:
    """The SECONDS of a `calibrated:TARGET[:SECONDS]` name (default DEFAULT_STEP_SECONDS)."""
    return parse_step_seconds(rules.partition(":")[2])


def rank_from_top(runs: int, target: Fraction) -> int:
    """k = floor(TARGET × (runs + 1)), computed exactly: 0 when the cell is too small for TARGET (then the cell
    keeps `current`'s allowance)."""
    return math.floor(target * (runs + 1))


# ---- the pooled allocation (pure) --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """One allowance a cell may get, with its expected false-failure rate and its expected detection of a step."""

    allowance: float
    false_failure: Fraction
    detection: Fraction


def cell_candidates(tail: Tail, target: Fraction, seconds: Fraction, cap: int = CELL_CAP) -> list[Candidate]:
    """A cell's candidate allowances: its largest values whose expected false-failure rate is at most
    `cap` × `target`, from the strictest (the maximum) down. Empty when the cell is too small for `target`.

    A = the k-th largest value: a new healthy run exceeds it with probability (#{x > A} + 1) / (n + 1) (k / (n + 1)
    without ties; distribution-free for exchangeable runs). A run with a step of `seconds` exceeds it with the
    share of history runs x with x + seconds > A; below the kept values the count is a lower bound (the kept ones).
    """
    n, values = tail.runs, tail.largest
    if rank_from_top(n, target) < 1 or not values:
        return []
    ascending = values[::-1]  # floats; compared with exact Fractions below
    limit = cap * target
    out: list[Candidate] = []
    previous: float | None = None
    for value in values:
        if value == previous:
            continue  # ties: one candidate per distinct value
        previous = value
        candidate = _rates(ascending, n, value, seconds)
        if candidate.false_failure > limit and out:
            break
        out.append(candidate)  # the strictest one even above the cap: it is the cell's smallest possible rate
    return out


def _hull(points: Sequence[Candidate]) -> list[Candidate]:
    """The upper concave hull of (false failure, detection) from the first (strictest) point, rising only."""
    hull = [points[0]]
    for point in points[1:]:
        if point.detection <= hull[-1].detection:
            continue
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when it lies below the segment a → point
            left = (b.detection - a.detection) * (point.false_failure - a.false_failure)
            right = (point.detection - a.detection) * (b.false_failure - a.false_failure)
            if left < right:  # collinear points stay: a partial move along a segment may fit the budget
                hull.pop()
            else:
                break
        hull.append(point)
    return hull


def pooled_allowances(
    cells: Mapping[K, Tail], target: Fraction, seconds: Fraction = DEFAULT_STEP_SECONDS, cap: int = CELL_CAP
) -> dict[K, float]:
    """Each cell's allowance under one pooled budget: the run-weighted expected false-failure rate over the cells
    is at most `target`, the run-weighted expected detection of a step of `seconds` is as high as the greedy gets,
    and no cell's expected rate exceeds `cap` × `target`. Cells too small for `target` get none.

    Lagrangian/greedy over each cell's concave hull of (rate, detection): every cell starts at its strictest
    candidate; the steps to looser candidates are taken by decreasing detection gained per false failure spent
    (ties: cell order, then the cell's own order) while the budget lasts; a cell whose next step does not fit
    stops there. Exact rationals: the result is deterministic.
    """
    candidates = {key: cell_candidates(tail, target, seconds, cap) for key, tail in cells.items()}
    hulls = {key: _hull(points) for key, points in candidates.items() if points}
    weights = {key: cells[key].runs for key in hulls}
    budget = target * sum(weights.values()) - sum(weights[key] * hull[0].false_failure for key, hull in hulls.items())
    steps = []
    for order, key in enumerate(sorted(hulls, key=repr)):
        hull = hulls[key]
        for index in range(1, len(hull)):
            a, b = hull[index - 1], hull[index]
            slope = (b.detection - a.detection) / (b.false_failure - a.false_failure)
            steps.append((-slope, order, index, key, weights[key] * (b.false_failure - a.false_failure)))
    steps.sort(key=lambda step: step[:3])
    chosen = dict.fromkeys(hulls, 0)
    stopped: set[int] = set()
    for _, order, index, key, cost in steps:
        if order in stopped:
            continue
        if cost <= budget:
            budget -= cost
            chosen[key] = index
        else:
            stopped.add(order)
    return {key: hulls[key][chosen[key]].allowance for key in hulls}


def rates_at(tail: Tail, allowance: float, seconds: Fraction = DEFAULT_STEP_SECONDS) -> Candidate:
    """A cell's expected false-failure rate and detection of a step of `seconds` at `allowance` (see
    cell_candidates; values below the kept ones count as not detected)."""
    ascending = tail.largest[::-1]
    return _rates(ascending, tail.runs, allowance, seconds)


def _rates(ascending: Sequence[float], runs: int, allowance: float, seconds: Fraction) -> Candidate:
    above = len(ascending) - bisect.bisect_right(ascending, allowance)
    floor = Fraction(allowance) - seconds
    detected = runs if floor < 0 else len(ascending) - bisect.bisect_right(ascending, floor)
    return Candidate(allowance, Fraction(above + 1, runs + 1), Fraction(detected, runs))


def expected_rates(
    cells: Mapping[K, Tail], allowances: Mapping[K, float], seconds: Fraction = DEFAULT_STEP_SECONDS
) -> tuple[Fraction, Fraction]:
    """The run-weighted expected false-failure rate and detection of `allowances` over the cells they cover."""
    runs = sum(cells[key].runs for key in allowances)
    if not runs:
        return Fraction(0), Fraction(0)
    false_failure = detection = Fraction(0)
    for key, allowance in allowances.items():
        point = rates_at(cells[key], allowance, seconds)
        false_failure += cells[key].runs * point.false_failure
        detection += cells[key].runs * point.detection
    return false_failure / runs, detection / runs


# ---- the cells' largest values, from the warehouse ---------------------------------------------------------------

CellKey = tuple[str, ...]  # (name, Release, FromRelease, Platform, Network, Topology[, Architecture])


@dataclass(frozen=True, slots=True)
class Tail:
    """A cell's run count and its largest values, largest first."""

    runs: int
    largest: tuple[float, ...]


def tail_sql(q: HistoryQuery) -> str:
    """BigQuery-dialect SQL: each cell's run count and largest @depth values (largest first, joined by commas: one
    row a cell) over the window of `q`.

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
SELECT {cols}, CellRuns, STRING_AGG(CAST(Seconds AS STRING), ',' ORDER BY TailRank) AS Largest
FROM ranked
WHERE TailRank <= @depth
GROUP BY {cols}, CellRuns
ORDER BY {cols}"""


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
    """tail_sql's rows (one per cell, its largest values joined by commas) as Tails."""
    # The cell key's order is cell_of's, whatever the order of the SQL's partition columns.
    columns = (q.name_column, "Release", "FromRelease", "Platform", "Network", "Topology")
    partition = (*columns, *(("Architecture",) if q.partition_by_architecture else ()))
    out: dict[CellKey, Tail] = {}
    for row in rows:
        key = tuple(str(row[c]) for c in partition)
        values = (float(v) for v in str(row["Largest"]).split(","))
        out[key] = Tail(int(row["CellRuns"]), tuple(sorted(values, reverse=True)))
    return out


def cell_of(key: DataKey, by_architecture: bool = False) -> CellKey:
    """The partition cell a historical row's key belongs to."""
    jt = key.job_type
    cell = (key.name, jt.release, jt.from_release, jt.platform, jt.network, jt.topology)
    return (*cell, jt.architecture) if by_architecture else cell


def allowances_for(
    data: HistoricalData, tails: Mapping[CellKey, Tail], target: Fraction | float, by_architecture: bool = False,
    seconds: Fraction = DEFAULT_STEP_SECONDS,
) -> dict[DataKey, float]:
    """The calibrated allowance of every row of `data` whose cell is big enough for `target`: the pooled budget
    (pooled_allowances) over the cells of `data`'s rows."""
    cells = {cell: tails[cell] for key in data.rows if (cell := cell_of(key, by_architecture)) in tails}
    pooled = pooled_allowances(cells, Fraction(target), seconds)
    return {key: pooled[cell] for key in data.rows if (cell := cell_of(key, by_architecture)) in pooled}


def calibration_rows(
    data: HistoricalData, tails: Mapping[CellKey, Tail], target: Fraction | float, by_architecture: bool = False,
    seconds: Fraction = DEFAULT_STEP_SECONDS,
) -> list[dict[str, Any]]:
    """The rows of a calibration file: each historical row's key columns, its cell's run count and largest values
    (so any target can be applied later), and the pooled allowance at `target` and `seconds` (null when the cell
    is too small)."""
    allowances = allowances_for(data, tails, target, by_architecture, seconds)
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
            "Target": str(target), "Allowance": allowances.get(key),
            "Largest": list(tail.largest), "StepSeconds": str(seconds),
        })
    return rows


def export_calibration(
    warehouse: Warehouse, q: HistoryQuery, target: Fraction | float, seconds: Fraction = DEFAULT_STEP_SECONDS
) -> tuple[bytes, int]:
    """A calibration file for the historical data `q` exports (every release): JSON, one row per historical row."""
    data = load_historical(render_query_results(historical_rows(warehouse, q)), "export", None)
    rows = calibration_rows(data, read_tails(warehouse, q), target, q.partition_by_architecture, seconds)
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


def allowances_from_calibration(
    tails: Mapping[DataKey, Tail], target: Fraction | float, seconds: Fraction = DEFAULT_STEP_SECONDS
) -> dict[DataKey, float]:
    """The pooled allowance at `target` of every key of a loaded calibration file whose cell is big enough.

    Rows of one cell (same partition columns, same runs and values: the rows of its architectures) count once.
    """
    def cell(key: DataKey, tail: Tail) -> tuple[Any, ...]:
        jt = key.job_type
        return (key.name, jt.release, jt.from_release, jt.platform, jt.network, jt.topology, tail.runs, tail.largest)

    cells = {cell(key, tail): tail for key, tail in tails.items()}
    pooled = pooled_allowances(cells, Fraction(target), seconds)
    return {key: pooled[c] for key, tail in tails.items() if (c := cell(key, tail)) in pooled}


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
    tails = load_calibration(data, str(calibration))
    return allowances_from_calibration(tails, target_of(rules), step_seconds_of(rules))


register_preset_family(FAMILY, calibrated_preset)
