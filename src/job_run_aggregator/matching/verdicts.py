"""Run verdicts: a run's disruption and alert seconds against the best-matched history (issue 6), and junit.

Pure: the caller reads the run (observed seconds per backend, per alert) and the historical data; this module
does origin's arithmetic and renders the testcases origin would have written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from job_run_aggregator.artifacts.parse.alerts import AlertKey
from job_run_aggregator.junit_report import JunitCase, JunitSuite, render_junit_suites
from job_run_aggregator.matching.matcher import (
    ALERT, BACKEND, DEFAULT_BACKEND_SECONDS, HistoricalData, JobType, Match, preset_for,
)
from job_run_aggregator.model import format_seconds

PASS, FAIL, FLAKE, SKIP = "pass", "fail", "flake", "skip"

_CONNECTION_SUFFIX = re.compile(r"^(?P<base>.+)-(?P<connection>new|reused)-connections$")


def round_half_away(seconds: float) -> int:
    """Round to whole seconds, halves away from zero, like Go's time.Duration.Round(time.Second)."""
    return int(math.copysign(math.floor(abs(seconds) + 0.5), seconds))


@dataclass(frozen=True, slots=True)
class Allowance:
    """How the allowed disruption was derived from P99: the floor, the grace and the final whole seconds."""

    p99: float
    floored: float  # max(P99, 1 s)
    grace_seconds: int  # current rules: added seconds (5, or 10 for single topology); 0 for 2022
    grace_factor: float  # current rules: multiplier (1.2, or 1.4 for single topology); 1.0 for 2022
    final: float  # whole seconds, except 2022's unrounded 2.718 default

    def describe(self) -> str:
        floor = f"{_seconds(self.p99)} floored at 1s" if self.p99 < 1 else _seconds(self.p99)
        if self.grace_factor == 1.0:
            return f"P99 {floor}, no grace"
        return f"P99 {floor}, grace max(+{self.grace_seconds}s, ×{self.grace_factor:g})"


def allowed_disruption(p99: float, topology: str, rules: str) -> Allowance:
    """Compute the allowed disruption seconds for a matched P99 under `rules`.

    current/2023: round-half-away(max(P99' + 5 s, 1.2 × P99')) with P99' = max(P99, 1 s); single topology
    +10 s / ×1.4. 2022: P99' rounded, except exactly 2.718 s (origin's default) stays unrounded.
    """
    preset_for(rules)
    # Work in integer nanoseconds like Go's time.Duration (P99 is whole milliseconds after origin's "%.3fs"
    # parse) so that ×1.2 truncates exactly as origin's float64 multiply does.
    p99_ns = round(p99 * 1_000) * 1_000_000
    floored_ns = max(p99_ns, 1_000_000_000)
    floored = floored_ns / 1e9
    if rules == "2022":
        # origin: "don't round if we're using the default value so we can find this" (checks == 2718 ms).
        final = floored if floored_ns == int(DEFAULT_BACKEND_SECONDS * 1e9) else round_half_away(floored)
        return Allowance(p99, floored, 0, 1.0, final)
    grace, factor = (10, 1.4) if topology == "single" else (5, 1.2)
    final_ns = max(floored_ns + grace * 1_000_000_000, int(floored_ns * factor))
    return Allowance(p99, floored, grace, factor, round_half_away(final_ns / 1e9))


@dataclass(frozen=True, slots=True)
class Verdict:
    """One testcase: a backend's disruption or an alert's duration judged against history."""

    name: str
    kind: str  # BACKEND | ALERT
    status: str  # PASS | FAIL | FLAKE | SKIP
    reason: str  # matched key, P99, grace, observed
    observed: float
    allowed: float | None
    match: Match | None
    namespace: str = ""
    level: str = ""

    @property
    def test_name(self) -> str:
        """The junit testcase name origin uses for this check."""
        if self.kind == ALERT:
            level = (self.level or "info").lower()
            scope = f" in ns/{self.namespace}" if self.namespace else ""
            return f"alert/{self.name} should not be at or above {level}{scope}"
        return disruption_test_name(self.name)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "namespace": self.namespace,
            "level": self.level,
            "status": self.status,
            "observed": self.observed,
            "allowed": self.allowed,
            "reason": self.reason,
            "test_name": self.test_name,
            "match": self.match.to_json() if self.match else None,
        }


def disruption_test_name(backend: str) -> str:
    """Name a backend's testcase like origin: `kube-api-new-connections` → `disruption/kube-api connection/new …`.

    origin builds the backend name from the test's parts (`<name>-<new|reused>-connections`); a name without that
    suffix has no connection type to show, so the testcase is `disruption/<name> should be available …`.
    """
    found = _CONNECTION_SUFFIX.match(backend)
    if found is None:
        return f"disruption/{backend} should be available throughout the test"
    return f"disruption/{found['base']} connection/{found['connection']} should be available throughout the test"


def judge_backend(
    name: str, observed_seconds: float, job_type: JobType, match: Match | None, rules: str = "current"
) -> Verdict:
    """Judge one backend's disruption; `match` None means no historical data was given at all."""
    observed = round_half_away(observed_seconds)
    seen = f"observed {observed}s"

    def verdict(status: str, reason: str, allowed: float | None = None) -> Verdict:
        return Verdict(name, BACKEND, status, reason, observed_seconds, allowed, match)

    if not job_type.platform:
        return verdict(SKIP, f"{seen}; not judged: the job type has no platform")
    if match is None:
        # origin 2022 flaked a backend it had no historical data for; later rule sets skip it.
        return verdict(FLAKE if rules == "2022" else SKIP, f"{seen}; no historical data was given")
    if match.p99 is None:
        return verdict(SKIP, f"{seen}; no historical data {match.message}")
    allowance = allowed_disruption(match.p99, job_type.topology, rules)
    failed = observed > allowance.final
    comparison = ">" if failed else "≤"
    reason = f"{seen} {comparison} allowed {_seconds(allowance.final)} ({allowance.describe()}); {_source(match)}"
    return verdict(FAIL if failed else PASS, reason, allowance.final)


def judge_alert(name: str, namespace: str, level: str, observed_seconds: float, match: Match | None) -> Verdict:
    """Judge one alert: fail above P99, flake above P95, else pass; no match is reported, not judged."""
    seen = f"observed {_seconds(observed_seconds)}"

    def verdict(status: str, reason: str, allowed: float | None = None) -> Verdict:
        return Verdict(name, ALERT, status, reason, observed_seconds, allowed, match, namespace, level)

    if match is None:
        return verdict(SKIP, f"{seen}; no alert historical data was given")
    if match.p99 is None or match.p95 is None:
        return verdict(SKIP, f"{seen}; no historical data {match.message}")
    limits = f"(P95 {_seconds(match.p95)}, P99 {_seconds(match.p99)}); {_source(match)}"
    if observed_seconds > match.p99:
        return verdict(FAIL, f"{seen} > P99 {limits}", match.p99)
    if observed_seconds > match.p95:
        return verdict(FLAKE, f"{seen} > P95 {limits}", match.p99)
    return verdict(PASS, f"{seen} ≤ P95 {limits}", match.p99)


def judge_run(
    observed_disruption: Mapping[str, float],
    observed_alerts: Mapping[AlertKey, float] | None,
    job_type: JobType,
    backend_data: HistoricalData | None,
    alert_data: HistoricalData | None,
    rules: str = "current",
    min_job_runs: int = 100,
) -> list[Verdict]:
    """Judge every observed backend (sorted by name), then every observed alert, against the history."""
    preset_for(rules)
    verdicts = []
    for backend in sorted(observed_disruption):
        match = backend_data.best_match(backend, job_type, rules, min_job_runs) if backend_data is not None else None
        verdicts.append(judge_backend(backend, observed_disruption[backend], job_type, match, rules))
    for scope in sorted(observed_alerts or {}):
        name, namespace, level = scope
        match = (
            alert_data.best_match(name, job_type, rules, min_job_runs, namespace, level)
            if alert_data is not None
            else None
        )
        verdicts.append(judge_alert(name, namespace, level, (observed_alerts or {})[scope], match))
    return verdicts


def render_junit(verdicts: Iterable[Verdict], suite_name: str) -> bytes:
    """Render verdicts as a junit `<testsuite>`; a flake is a failing and a passing testcase of one name (origin's
    way)."""
    cases = []
    for verdict in verdicts:
        if verdict.status in (FAIL, FLAKE):
            cases.append(JunitCase(verdict.test_name, time="0", failure=verdict.reason))
        if verdict.status in (PASS, FLAKE, SKIP):
            skipped = verdict.reason if verdict.status == SKIP else None
            cases.append(JunitCase(verdict.test_name, time="0", skipped=skipped, output=verdict.reason))
    return render_junit_suites([JunitSuite(suite_name, cases)])


def has_failures(verdicts: Iterable[Verdict]) -> bool:
    """Tell whether any verdict failed (check-run exits 1 then)."""
    return any(v.status == FAIL for v in verdicts)


def _seconds(value: float) -> str:
    return format_seconds(value, places=3)


def _source(match: Match) -> str:
    if match.matched_key is None:
        return f"no match, the 2022 default {match.message}"
    key = match.matched_key
    scope = f" ns={key.namespace} level={key.level}" if key.namespace or key.level else ""
    source = f"matched {key.name}{scope} [{key.job_type.short()}], {match.job_runs} job runs"
    return f"{source} {match.message}" if match.message else source
