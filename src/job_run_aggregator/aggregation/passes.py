"""The required-pass table of the aggregated percentile checks (DESIGN §9).

ci-tools' `jobrunaggregatoranalyzer` hard-codes a table for 1–12 attempts (and indexes past its end above 12).
Its entries are reproduced here by the test that produced them, so any number of attempts works:

- the historical corpus is 250 runs of which `round(working% · 250 / 100)` passed, rounding half to even (R's
  `round`, which the table was evidently made with: half-up breaks rows 5, 10 and 11, truncation more);
- one-sided Fisher's exact test ("less"): p = P(X ≤ passes) for the hypergeometric X of passes among the n attempts,
  conditioned on both margins — scipy's `fisher_exact(..., alternative="less")`;
- the table entry for n ≥ 3 attempts is the most passes that the test still calls significantly worse (p ≤ 0.05),
  i.e. one less than the fewest passes with p > 0.05; the checks subtract one more (DESIGN §9).
- rows 1 and 2 are the upstream hand entries: 1 wherever zero passes is already significantly worse. They never
  decide a verdict, because `table − 1 ≤ 0` skips the check.

Exact integer arithmetic decides `p > 0.05`, so no rounding of tiny tails can flip a boundary.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from math import comb

from job_run_aggregator.errors import InputError

CORPUS_RUNS = 250
SIGNIFICANCE = Fraction(5, 100)
UPSTREAM_MAX_ATTEMPTS = 12  # ci-tools' table ends here; above it the Go tool panics


def historical_passes(working_percent: int, corpus: int = CORPUS_RUNS) -> int:
    """Passing runs in the historical corpus for a pass rate, rounded half to even like R's `round`."""
    return round(Fraction(working_percent * corpus, 100))


def fisher_less_p_value(passes: int, attempts: int, historical_ok: int, corpus: int = CORPUS_RUNS) -> Fraction:
    """One-sided Fisher's exact p-value that `passes` of `attempts` is worse than `historical_ok` of `corpus`."""
    total_ok = passes + historical_ok
    total_bad = attempts + corpus - total_ok
    tail = sum(comb(total_ok, i) * comb(total_bad, attempts - i) for i in range(passes + 1))
    return Fraction(tail, comb(attempts + corpus, attempts))


def _fewest_unsuspicious_passes(attempts: int, working_percent: int) -> int:
    """The fewest passes whose one-sided p-value exceeds the significance level."""
    historical_ok = historical_passes(working_percent)
    for passes in range(attempts + 1):
        if fisher_less_p_value(passes, attempts, historical_ok) > SIGNIFICANCE:
            return passes
    return attempts + 1  # unreachable: all passes give p = 1


@cache
def required_passes_row(attempts: int) -> tuple[int, ...]:
    """Table entries for `attempts`, indexed by whole working percent 0..100."""
    if attempts < 0:
        raise InputError(f"required passes: attempts must be 0 or more, got {attempts}")
    if attempts == 0:
        return (0,) * 101
    fewest = [_fewest_unsuspicious_passes(attempts, w) for w in range(101)]
    if attempts < 3:
        # Upstream's hand-written rows: one pass needed once zero passes is significantly worse.
        return tuple(min(f, 1) for f in fewest)
    return tuple(max(f - 1, 0) for f in fewest)


def required_passes(attempts: int, working_percent: float) -> int:
    """Table entry for `attempts` at `working_percent` (truncated to a whole percent, as the Go index is)."""
    if not 0 <= working_percent <= 100:
        raise InputError(f"required passes: working percent must be within 0..100, got {working_percent}")
    return required_passes_row(attempts)[int(working_percent)]


def pass_table(attempts: int) -> dict[int, int]:
    """Render one row the way DESIGN §9 writes it: passes → the lowest working percent that needs them."""
    table: dict[int, int] = {}
    for percent, passes in enumerate(required_passes_row(attempts)):
        for needed in range(1, passes + 1):  # a step of two starts both entries at the same percent
            table.setdefault(needed, percent)
    return table


def format_pass_table(max_attempts: int = UPSTREAM_MAX_ATTEMPTS) -> str:
    """The table as `n: k@w k@w · …`, the notation of DESIGN §9."""
    rows = []
    for attempts in range(1, max_attempts + 1):
        cells = " ".join(f"{passes}@{percent}" for passes, percent in pass_table(attempts).items())
        rows.append(f"{attempts}: {cells}")
    return " · ".join(rows)
