"""Change points in one series of per-run seconds (pure: no I/O).

Method: **ruptures** (Truong, Oudre & Vayatis, "Selective review of offline change point detection methods",
Signal Processing 2020), its `KernelCPD` searched with PELT in compiled code, with the linear kernel on the
*ranks* of the values (rank-transformed least squares: the rank statistic of Lung-Yut-Fong et al. that ruptures'
`CostRank` computes, here on ruptures' C path), and a penalty of `penalty × log(n)` per change (BIC-like; the
ranks are standardised, so one penalty fits seconds, minutes or zeros alike). Each candidate is then kept only if
a two-sided Mann-Whitney U test (scipy) between the segments either side of it gives p < `alpha` — the
"significance test per change point" step that Hunter/Otava adds to E-Divisive — its P50 or P95 moved by at least
`min_change` seconds, and at least `min_support` runs carry it. A linear-time rank-CUSUM screen (see
`_best_single_split`) skips PELT, which is quadratic in the runs, where no single step could be accepted.

Why ruptures, not the two libraries the field's papers describe (checked 2026-12 on PyPI):
- `signal-processing-algorithms` (MongoDB's E-Divisive): 2.x dropped E-Divisive (only energy statistics and
  GESD remain), requires numpy < 2 and Python 3.11 exactly, ships as an sdist with a C extension and pulls
  gevent and structlog.
- `apache-otava` 0.8.0 (Hunter): its detector is the right algorithm, but the package pins numpy 2.2.* and
  scipy < 1.17 and brings google-cloud-bigquery, pg8000, slack-sdk, dateparser and more; it cannot be installed
  next to this project's numpy/scipy, and its permutation test costs ~100 re-computations per candidate.
- `ruptures` 1.1.10: needs only numpy and scipy (already here), ships binary wheels, and its KernelCPD PELT is C:
  a millisecond or two per 400-run series; with the screen, the 3,420 series of a year-scale 42-day window take
  about 2 s (benchmarks/regressions.py).

Why ranks: disruption seconds are heavy-tailed and mostly zero. On ranks a single huge run weighs no more than
any other run above the median, so one outlier cannot make a change point on its own (a segment must hold
`min_segment` runs and pass the rank test), and the same parameters work for every backend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PERCENTILES = (50, 95, 99)


@dataclass(frozen=True, slots=True)
class DetectOptions:
    """Detection parameters; the defaults are the ones measured in the notes (false positives ≤ 5% per cell)."""

    min_runs: int = 20  # series with fewer runs in the window are not analysed
    min_segment: int = 10  # runs each side of a change, at least (a burst of a few runs is not a new level)
    penalty: float = 4.0  # × log(n) per change point, on standardised ranks
    alpha: float = 1e-4  # Mann-Whitney p-value a change point must be under
    min_change: float = 1.0  # seconds the P50 or P95 must move by to count as a change of level
    screen: float = 0.5  # PELT runs only where one split alone lowers the cost by this share of the penalty
    min_support: int = 5  # runs on the worse side above the better side's P50: fewer outliers make no change


@dataclass(frozen=True, slots=True)
class Level:
    """The runs of one segment: how many, and their P50/P95/P99 seconds (PERCENTILE_CONT's interpolation)."""

    runs: int
    p50: float
    p95: float
    p99: float

    def as_json(self) -> dict[str, float | int]:
        return {"Runs": self.runs, "P50": self.p50, "P95": self.p95, "P99": self.p99}


@dataclass(frozen=True, slots=True)
class ChangePoint:
    """A significant change: `index` is the first run after it; `worse` when the level after is higher."""

    index: int
    p_value: float
    worse: bool
    before: Level
    after: Level

    @property
    def severity(self) -> float:
        """Seconds by which the P50 or P95 moved in the reported direction, whichever moved more."""
        sign = 1.0 if self.worse else -1.0
        return max(sign * (self.after.p50 - self.before.p50), sign * (self.after.p95 - self.before.p95))


def level_of(values: np.ndarray) -> Level:
    p50, p95, p99 = (float(v) for v in np.percentile(values, PERCENTILES, method="linear"))
    return Level(int(values.size), p50, p95, p99)


def candidate_breaks(values: np.ndarray, options: DetectOptions) -> list[int]:
    """Indexes where ruptures' PELT puts a change of the ranks' level (each the first run of a new segment)."""
    import ruptures  # type: ignore[import-untyped]
    from scipy.stats import rankdata  # type: ignore[import-untyped]

    ranks = rankdata(values)
    spread = ranks.std()
    if spread == 0.0:
        return []
    z = (ranks - ranks.mean()) / spread
    penalty = options.penalty * math.log(values.size)
    if _best_single_split(z, options.min_segment) < options.screen * penalty:
        return []
    algo = ruptures.KernelCPD(kernel="linear", min_size=options.min_segment).fit(z.reshape(-1, 1))
    ends = algo.predict(pen=penalty)
    return [int(e) for e in ends[:-1]]  # the last "end" is len(values)


def _best_single_split(z: np.ndarray, min_segment: int) -> float:
    """The largest drop in PELT's cost one change could give (the rank CUSUM statistic), in O(n).

    With centred z, a split after k runs lowers the least-squares cost by S_k² · n / (k (n − k)), S_k the sum
    of the first k values. PELT adds a lone step only when that drop beats the penalty, so a series whose best
    drop is under half of it has no step change; skipping PELT (O(n²)) there is what keeps a year-scale window
    within seconds. Two changes close together (a short bump) are seen with about a quarter of their drop: a
    bump is kept only when it clearly exceeds two penalties.
    """
    n = z.size
    k = np.arange(min_segment, n - min_segment + 1)
    if k.size == 0:
        return 0.0
    sums = np.cumsum(z)[k - 1]
    return float((sums * sums * n / (k * (n - k))).max())


def detect(seconds: Sequence[float] | np.ndarray, options: DetectOptions | None = None) -> list[ChangePoint]:
    """Return the significant change points of one series ordered by run start, in series order."""
    from scipy.stats import mannwhitneyu

    options = options or DetectOptions()
    values = np.asarray(seconds, dtype=float)
    n = values.size
    if n < max(options.min_runs, 2 * options.min_segment) or not np.isfinite(values).all():
        return []
    if values.min() == values.max():  # all equal (all zero, say): nothing can change
        return []
    breaks = candidate_breaks(values, options)
    bounds = [0, *breaks, n]
    found: list[ChangePoint] = []
    for i, cut in enumerate(breaks, start=1):
        before, after = values[bounds[i - 1]:cut], values[cut:bounds[i + 1]]
        test = mannwhitneyu(after, before, alternative="two-sided")
        p_value = float(test.pvalue)
        if not p_value < options.alpha:
            continue
        # U counts pairs (after, before) with after > before (ties half): above half of all pairs = worse after.
        worse = float(test.statistic) > after.size * before.size / 2
        change = ChangePoint(cut, p_value, worse, level_of(before), level_of(after))
        # A change must be carried by several runs: a burst of a few bad runs in a zero background is
        # "significant" to a rank test, yet no new level.
        high, low = (after, change.before) if worse else (before, change.after)
        support = int((high > low.p50).sum())
        if change.severity >= options.min_change and support >= options.min_support:
            found.append(change)
    return found
