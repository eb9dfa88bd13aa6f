"""Rates with 95 % confidence intervals, and the deterministic choice of planted pairs (pure)."""

from __future__ import annotations

import hashlib
import math

Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial rate (None without trials).

    Wilson rather than the normal approximation: false-failure counts are small and often zero, where the normal
    interval collapses to [0, 0]; Wilson stays honest there (0 of 300 → [0, 1.3 %]).
    """
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(successes: int, trials: int) -> float | None:
    """successes / trials, or None without trials."""
    return successes / trials if trials else None


def is_planted(seed: int, run_id: str, name: str, share: float) -> bool:
    """Whether the (run, name) pair gets the planted step: a uniform draw from a hash of (seed, run, name), so the
    same pairs are planted under every rule set and in every re-run with the same seed."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{seed}\x00{run_id}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share
