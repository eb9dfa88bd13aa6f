"""The aggregated disruption checks of one payload's runs of one job (DESIGN §9), pure.

Per backend, against this job's own history: the mean check (mean + 5σ), the P70/P85/P95 checks, and the
zero-disruption check; all behind the `should collect disruption data` gate. Each check is one junit testcase
of suite `BackendDisruption`.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from job_run_aggregator.model import format_seconds
from job_run_aggregator.aggregation.passes import required_passes
from job_run_aggregator.aggregation.rules import RuleSet, percentile_requirement, rules_for
from job_run_aggregator.errors import ConfigError

SUITE = "BackendDisruption"
MINIMUM_RUNS = 3
PERCENTILES_CHECKED = (70, 85, 95)
OUTLIER_PERCENTILE = 95
MEAN_FLOOR_SECONDS = 1.0

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"

COLLECT_TEST_NAME = "should collect disruption data"

RunSeconds = tuple[str, float]  # (job run id, disruption seconds)


@dataclass(frozen=True, slots=True)
class HistoricalStats:
    """One backend's history in this job: P1..P99, mean, sample standard deviation and run count."""

    percentiles: Mapping[int, float]
    mean: float
    stddev: float | None  # None when fewer than two runs: treated as 0
    count: int


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One junit testcase: the verdict of one check for one backend."""

    suite: str
    name: str
    status: str  # PASSED | FAILED | SKIPPED
    message: str
    backend: str  # "" for the collection gate
    threshold: float | None
    runs: tuple[RunSeconds, ...]
    kind: str = ""  # "collect" | "mean" | "percentile" | "zero"
    percentile: int | None = None  # the Pk of a percentile or zero-disruption check
    passed_runs: tuple[str, ...] = ()  # percentile checks: runs at or below the threshold
    failed_runs: tuple[str, ...] = ()
    required: int | None = None  # passes required (table − 1)
    dropped_runs: tuple[str, ...] = ()  # the mean check's outlier


def mean_test_name(backend: str) -> str:
    return f"{backend} mean disruption should be less than historical plus five standard deviations"


def percentile_test_name(backend: str, percentile: int) -> str:
    return f"{backend} disruption P{percentile} should not be worse"


def zero_test_name(backend: str) -> str:
    return f"{backend} zero-disruption should not be worse"




def format_runs(runs: Iterable[RunSeconds]) -> str:
    """Each run as `id=Ns`, space-separated."""
    return " ".join(f"{run_id}={format_seconds(seconds)}" for run_id, seconds in runs)


def backend_filter(patterns: Sequence[str]) -> Callable[[str], bool]:
    """Build `is_excluded(backend)`: `re:<regex>` searches a regular expression, anything else is a
    case-sensitive shell glob matched against the whole backend name (`*-new-connections`, `ingress-*`)."""
    regexes: list[re.Pattern[str]] = []
    for pattern in patterns:
        if not pattern.startswith("re:"):
            regexes.append(re.compile("^" + fnmatch.translate(pattern)))  # translate anchors the end only
            continue
        try:
            regexes.append(re.compile(pattern[3:]))
        except re.error as exc:
            raise ConfigError(f"--exclude-backend {pattern!r}: invalid regular expression ({exc})") from exc

    def is_excluded(backend: str) -> bool:
        return any(regex.search(backend) for regex in regexes)

    return is_excluded


def is_single_node(job_name: str) -> bool:
    """The Job Primer's topology rule (DESIGN §5): `single` in the name means single-node."""
    return "single" in job_name


def check_collected(runs_by_backend: Mapping[str, Sequence[RunSeconds]]) -> CheckResult:
    """The gate: at least three runs must have reported disruption data for any backend."""
    run_ids = tuple(sorted({run_id for runs in runs_by_backend.values() for run_id, _ in runs}))
    listed = ", ".join(run_ids) or "none"
    if len(run_ids) < MINIMUM_RUNS:
        status = FAILED
        message = (
            f"Only {len(run_ids)} runs reported disruption data ({listed}); at least {MINIMUM_RUNS} are required, "
            "so no backend was judged."
        )
    else:
        status, message = PASSED, f"{len(run_ids)} runs reported disruption data ({listed})."
    return CheckResult(SUITE, COLLECT_TEST_NAME, status, message, "", float(MINIMUM_RUNS), (), kind="collect")


def check_mean(backend: str, runs: Sequence[RunSeconds], stats: HistoricalStats) -> CheckResult:
    """Fail iff the runs' mean exceeds max(1 s, historical mean + 5σ), after dropping one outlier above P95."""
    runs = _sorted(runs)
    stddev = 0.0 if stats.stddev is None or math.isnan(stats.stddev) else stats.stddev
    raw_threshold = stats.mean + 5 * stddev
    threshold = max(MEAN_FLOOR_SECONDS, raw_threshold)
    floored = f" = {format_seconds(raw_threshold)}, floored at 1s" if raw_threshold < MEAN_FLOOR_SECONDS else ""
    basis = (
        f"historical mean {format_seconds(stats.mean)} + 5 × stddev {format_seconds(stddev)}{floored}"
        f" over {stats.count} runs"
    )
    kept: list[RunSeconds] = list(runs)
    dropped: tuple[RunSeconds, ...] = ()
    p95 = stats.percentiles.get(OUTLIER_PERCENTILE)
    if kept and p95 is not None:
        largest = max(kept, key=lambda run: run[1])
        if largest[1] > p95:  # one bad run must not sink the payload (upstream rule)
            kept.remove(largest)
            dropped = (largest,)
    mean = math.fsum(s for _, s in kept) / len(kept) if kept else math.nan
    outlier = ""
    if dropped and p95 is not None:
        outlier = f" Dropped outlier {format_runs(dropped)} (above historical P95={format_seconds(p95)})."
    if math.isnan(mean):
        status = PASSED  # NaN compares false, as in the Go tool: nothing to average is no regression
        summary = f"No runs to average; threshold {format_seconds(threshold)} ({basis})."
    elif mean > threshold:
        status = FAILED
        summary = (
            f"Mean disruption of {len(kept)} runs is {format_seconds(mean)}, above the threshold "
            f"{format_seconds(threshold)} ({basis})."
        )
    else:
        status = PASSED
        summary = (
            f"Mean disruption of {len(kept)} runs is {format_seconds(mean)}, within the threshold "
            f"{format_seconds(threshold)} ({basis})."
        )
    listed = f" Runs: {format_runs(kept)}." if kept else ""
    return CheckResult(
        SUITE,
        mean_test_name(backend),
        status,
        summary + listed + outlier,
        backend,
        threshold,
        runs,
        kind="mean",
        dropped_runs=tuple(r for r, _ in dropped),
    )


@dataclass(frozen=True, slots=True)
class PercentileVerdict:
    """The outcome of one percentile check (`judge_percentile`)."""

    status: str  # PASSED | FAILED | SKIPPED
    passed_runs: tuple[str, ...]  # at or below the deciding threshold
    failed_runs: tuple[str, ...]
    required: int  # passes required after the era's adjustment of the table entry
    table: int  # the Fisher table entry
    threshold: float  # the threshold that decided: Pk, or Pk + grace when the second look was taken
    graced: bool = False  # True when the first look missed and the grace threshold was used
    reason: str = ""  # "required-not-positive" | "no-passes" | "too-few-attempts" | "too-few-passes" | "enough-passes"


def judge_percentile(
    seconds: Sequence[float] | Mapping[str, float],
    threshold: float,
    percentile: int,
    *,
    grace: float | None = None,
    rules: str | RuleSet = "current",
) -> PercentileVerdict:
    """Judge one percentile check: a run passes iff its seconds are at most `threshold` (historical Pk).

    `seconds` maps run ids to seconds (a plain sequence is numbered "0", "1", …). The required passes are the
    Fisher table entry for (attempts, `percentile`) adjusted by the era (− 1, or the pity factor). A missed
    requirement is looked at again with `threshold + grace` (default: the era's grace for `percentile`, 0 if none).
    """
    era = rules_for(rules)
    runs = dict(seconds) if isinstance(seconds, Mapping) else {str(i): float(s) for i, s in enumerate(seconds)}
    attempts = len(runs)
    table = required_passes(attempts, percentile)
    required = percentile_requirement(table, attempts, era)
    extra = era.grace.get(percentile, 0.0) if grace is None else grace
    first = _judge_at(runs, threshold, required, table)
    if first.status != FAILED or extra <= 0 or first.reason == "too-few-attempts":
        return first
    second = _judge_at(runs, threshold + extra, required, table)
    if second.status == PASSED:
        return PercentileVerdict(PASSED, second.passed_runs, second.failed_runs, required, table, second.threshold,
                                 graced=True, reason=second.reason)
    return first


def _judge_at(runs: Mapping[str, float], threshold: float, required: int, table: int) -> PercentileVerdict:
    passed = tuple(r for r, s in runs.items() if s <= threshold)  # strict: only more than Pk fails
    failed = tuple(r for r, s in runs.items() if s > threshold)
    if required <= 0:
        status, reason = SKIPPED, "required-not-positive"
    elif not passed:
        status, reason = FAILED, "no-passes"
    elif len(runs) < MINIMUM_RUNS:  # upstream order; the table's rows 1–2 already skip above
        status, reason = FAILED, "too-few-attempts"
    elif len(passed) < required:
        status, reason = FAILED, "too-few-passes"
    else:
        status, reason = PASSED, "enough-passes"
    return PercentileVerdict(status, passed, failed, required, table, threshold, reason=reason)


def check_percentile(
    backend: str,
    runs: Sequence[RunSeconds],
    stats: HistoricalStats,
    percentile: int,
    *,
    zero: bool = False,
    rules: str | RuleSet = "2023-02",
) -> CheckResult:
    """A run passes iff its seconds are at most historical P`percentile`; enough runs must pass (the Fisher table)."""
    era = rules_for(rules)
    runs = _sorted(runs)
    name = zero_test_name(backend) if zero else percentile_test_name(backend, percentile)
    kind = "zero" if zero else "percentile"
    threshold = 0.0 if percentile == 0 else stats.percentiles.get(percentile)
    if threshold is None:
        message = f"Skipped: the history of {backend} has no P{percentile}."
        return CheckResult(SUITE, name, SKIPPED, message, backend, None, runs, kind=kind, percentile=percentile)
    verdict = judge_percentile(dict(runs), threshold, percentile, grace=None if not zero else 0.0, rules=era)
    by_id = dict(runs)
    passed = tuple((r, by_id[r]) for r in verdict.passed_runs)
    failed = tuple((r, by_id[r]) for r in verdict.failed_runs)
    attempts = len(runs)
    table, required = verdict.table, verdict.required
    limit = f"historical P{percentile}={format_seconds(threshold)} ({stats.count} runs)"
    if verdict.graced:
        limit += f" + grace {format_seconds(verdict.threshold - threshold)} = {format_seconds(verdict.threshold)}"
    listing = _listing(passed, failed)
    adjustment = f"table {table} − 1" if required == table - 1 else f"table {table}, pity {required}"
    if verdict.status == SKIPPED:
        if zero and percentile == 0:
            p1 = format_seconds(stats.percentiles.get(1, math.nan))
            message = (
                f"Skipped: no historical percentile of {backend} is zero (P1={p1}), "
                "so there is no zero-disruption rate to hold the runs to."
            )
        else:
            message = (
                f"Skipped: with {attempts} runs at P{percentile} the required passes are {required} "
                f"({adjustment}), too few to detect a regression."
            )
    elif verdict.reason == "no-passes":
        message = f"Zero of {attempts} runs at or below {limit}; at least one is required.{listing}"
    elif verdict.reason == "too-few-attempts":
        message = f"Only {attempts} runs reported {backend}; at least {MINIMUM_RUNS} are required.{listing}"
    else:
        message = f"{len(passed)} of {attempts} runs at or below {limit}; {required} required.{listing}"
    extra = 0.0 if zero else era.grace.get(percentile, 0.0)
    if verdict.status == FAILED and extra > 0 and verdict.reason != "too-few-attempts":
        second = sum(s <= threshold + extra for _, s in runs)
        message += f" With grace +{format_seconds(extra)}: {second} at or below {format_seconds(threshold + extra)}."
    return CheckResult(
        SUITE,
        name,
        verdict.status,
        message,
        backend,
        verdict.threshold,
        runs,
        kind=kind,
        percentile=percentile,
        passed_runs=verdict.passed_runs,
        failed_runs=verdict.failed_runs,
        required=required,
    )


def zero_disruption_percentile(stats: HistoricalStats) -> int:
    """The largest k with P1..Pk all zero; 0 when P1 is already above zero (the table then skips the check)."""
    largest = 0
    for k in range(1, 100):
        value = stats.percentiles.get(k)
        if value is None or value > 0:
            break
        largest = k
    return largest


def check_zero_disruption(
    backend: str, runs: Sequence[RunSeconds], stats: HistoricalStats, *, rules: str | RuleSet = "2023-02"
) -> CheckResult:
    """The percentile check at the largest percentile that is still zero."""
    return check_percentile(backend, runs, stats, zero_disruption_percentile(stats), zero=True, rules=rules)


def check_backend(
    backend: str,
    runs: Sequence[RunSeconds],
    stats: HistoricalStats | None,
    job_name: str = "",
    *,
    rules: str | RuleSet = "2023-02",
) -> list[CheckResult]:
    """All checks of one backend under `rules`; every one skipped, with the reason, when there is no history."""
    era = rules_for(rules)
    if stats is None or stats.count == 0:
        where = f" in {job_name}" if job_name else " in this job"
        return _skip_all(backend, runs, f"Skipped: no historical disruption data for {backend}{where}.", era)
    return [
        check_mean(backend, runs, stats),
        *(check_percentile(backend, runs, stats, k, rules=era) for k in era.percentiles),
        *([check_zero_disruption(backend, runs, stats, rules=era)] if era.zero_check else []),
    ]


def check_disruption(
    runs_by_backend: Mapping[str, Sequence[RunSeconds]],
    history: Mapping[str, HistoricalStats | None],
    *,
    job_name: str = "",
    exclude_backends: Sequence[str] = (),
    skip_single_node: bool = False,
    rules: str | RuleSet = "2023-02",
    history_note: str = "",
) -> list[CheckResult]:
    """Judge a payload's runs of one job: the gate, then every backend's checks, sorted by backend.

    `rules` is the era (DESIGN §9.1; the library default is the early-2023 set §9 describes, the CLI's is
    `current`). The gate counts runs before exclusions apply: excluding backends chooses what is judged, not
    whether data was collected. Backends excluded by `exclude_backends` or by the era's substring list produce
    no testcases. A single-node job gets every testcase skipped with the reason under `skip_single_node` or an
    era that skips single-node jobs. `history_note` (e.g. the previous-release fallback) is appended to the gate.
    """
    era = rules_for(rules)
    is_excluded = backend_filter(exclude_backends)
    backends = sorted(b for b in runs_by_backend if not is_excluded(b) and not era.is_excluded(b))
    if (skip_single_node or era.skip_single_node) and is_single_node(job_name):
        reason = f"Skipped: {job_name} is a single-node job and single-node jobs are not judged."
        gate = CheckResult(SUITE, COLLECT_TEST_NAME, SKIPPED, reason, "", float(MINIMUM_RUNS), (), kind="collect")
        return [gate, *(r for b in backends for r in _skip_all(b, runs_by_backend[b], reason, era))]
    gate = check_collected(runs_by_backend)
    if history_note:
        gate = replace(gate, message=f"{gate.message} {history_note}")
    if gate.status == FAILED:
        return [gate]
    results = [gate]
    for backend in backends:
        results.extend(check_backend(backend, runs_by_backend[backend], history.get(backend), job_name, rules=era))
    return results


def _skip_all(backend: str, runs: Sequence[RunSeconds], reason: str, era: RuleSet) -> list[CheckResult]:
    runs = _sorted(runs)
    names = [
        (mean_test_name(backend), "mean", None),
        *((percentile_test_name(backend, k), "percentile", k) for k in era.percentiles),
        *([(zero_test_name(backend), "zero", None)] if era.zero_check else []),
    ]
    return [CheckResult(SUITE, n, SKIPPED, reason, backend, None, runs, kind=k, percentile=p) for n, k, p in names]


def _sorted(runs: Sequence[RunSeconds]) -> tuple[RunSeconds, ...]:
    return tuple(sorted(((str(r), float(s)) for r, s in runs), key=lambda run: run[0]))


def _listing(passed: Sequence[RunSeconds], failed: Sequence[RunSeconds]) -> str:
    parts = []
    if failed:
        parts.append(f" Failed runs: {format_runs(failed)}.")
    if passed:
        parts.append(f" Passed runs: {format_runs(passed)}.")
    return "".join(parts)
