"""Counting verdicts of a backtest: per rule set, overall and per variant and per name (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from job_run_aggregator.backtest.stats import rate, wilson_interval
from job_run_aggregator.matching.verdicts import FAIL, SKIP


@dataclass(slots=True)
class Tally:
    """Verdicts of (run, name) pairs: judged (pass, flake or fail), failed, skipped (no data), and the split into
    unplanted pairs (failures there are false failures) and planted ones (failures there are detections)."""

    runs: set[str] = field(default_factory=set)
    judged: int = 0
    failed: int = 0
    skipped: int = 0
    unplanted: int = 0
    false_failures: int = 0
    planted: int = 0
    detected: int = 0

    def add(self, run_id: str, status: str, planted: bool) -> None:
        """Count one verdict."""
        if status == SKIP:
            self.skipped += 1
            return
        self.runs.add(run_id)
        self.judged += 1
        failed = status == FAIL  # a flake does not fail the run, as in check-run
        self.failed += failed
        if planted:
            self.planted += 1
            self.detected += failed
        else:
            self.unplanted += 1
            self.false_failures += failed

    def to_json(self) -> dict[str, Any]:
        """The counts, rates and 95 % intervals, in the report's key names."""
        return {
            "Runs": len(self.runs),
            "Judged": self.judged,
            "Failed": self.failed,
            "Skipped": self.skipped,
            "Coverage": rate(self.judged, self.judged + self.skipped),
            "Unplanted": self.unplanted,
            "FalseFailures": self.false_failures,
            "FalseFailureRate": rate(self.false_failures, self.unplanted),
            "FalseFailureRateCI": _interval(self.false_failures, self.unplanted),
            "Planted": self.planted,
            "Detected": self.detected,
            "DetectionRate": rate(self.detected, self.planted),
            "DetectionRateCI": _interval(self.detected, self.planted),
        }


def _interval(successes: int, trials: int) -> list[float] | None:
    found = wilson_interval(successes, trials)
    return None if found is None else [found[0], found[1]]


@dataclass(slots=True)
class RuleSetTally:
    """One rule set's tallies: overall, by variant (JobType) and by backend or alert name."""

    name: str
    total: Tally = field(default_factory=Tally)
    by_variant: dict[str, Tally] = field(default_factory=dict)
    by_name: dict[str, Tally] = field(default_factory=dict)

    def add(self, run_id: str, variant: str, name: str, status: str, planted: bool) -> None:
        self.total.add(run_id, status, planted)
        self.by_variant.setdefault(variant, Tally()).add(run_id, status, planted)
        self.by_name.setdefault(name, Tally()).add(run_id, status, planted)

    def to_json(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            **self.total.to_json(),
            "ByVariant": [{"Variant": k, **v.to_json()} for k, v in sorted(self.by_variant.items())],
            "ByName": [{"Name": k, **v.to_json()} for k, v in sorted(self.by_name.items())],
        }
