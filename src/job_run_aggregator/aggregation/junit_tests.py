"""Every junit test of a payload's runs, aggregated and judged against the job's history (DESIGN §9.2), pure.

For each (suite, test): passes = the runs where it passed (a failure and a pass in one run is a pass: a retry
that worked), failures = the runs where it only failed, skips = the runs where it was only skipped; attempts =
passes + failures. The required passes come from the Fisher table at the test's historical working percentage
in this job (70 % without history, 99 % when the history query failed).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from job_run_aggregator.aggregation.checks import FAILED, PASSED, CheckResult
from job_run_aggregator.aggregation.passes import required_passes
from job_run_aggregator.aggregation.rules import RuleSet, junit_requirement, rules_for
from job_run_aggregator.model import TestCase

MINIMUM_ATTEMPTS = 6
NO_HISTORY_PERCENT = 70
HISTORY_FAILED_PERCENT = 99
ALWAYS_PASSING_SUITES = ("step graph",)
ALWAYS_PASSING_NAMES = ("initialize",)
ALWAYS_PASSING_SUBSTRINGS = ("Cluster should remain functional during upgrade",)
ALWAYS_PASSING_SUFFIXES = ("-gather-azure-cli container test",)
PANIC_SUBSTRING = "Undiagnosed panic detected in pod"
INFORMING_MARKER = "[Informing]"  # our marker of informing tests in a name; more with --informing-test globs
INFORMING_PATTERNS: tuple[str, ...] = ()

TestKey = tuple[str, str]  # (suite, test name)


@dataclass(frozen=True, slots=True)
class TestTally:
    """One (suite, test) over the payload's runs: the run ids where it passed, only failed, only skipped."""

    __test__ = False  # a record, not something for pytest to collect

    suite: str
    name: str
    passed_runs: tuple[str, ...]
    failed_runs: tuple[str, ...]
    skipped_runs: tuple[str, ...] = ()
    flaked_runs: tuple[str, ...] = ()  # among passed_runs: failed, then passed on a retry in the same run


@dataclass(frozen=True, slots=True)
class TestHistory:
    """One (suite, test) in the job's recent history: runs where it passed, failed, or flaked."""

    __test__ = False

    passes: int
    failures: int
    flakes: int = 0

    @property
    def working_percent(self) -> int:
        """floor((passes + flakes) / (passes + failures + flakes) × 100), exactly, in integers."""
        total = self.passes + self.failures + self.flakes
        return NO_HISTORY_PERCENT if total == 0 else (self.passes + self.flakes) * 100 // total


def working_percent(history: TestHistory | None, *, history_failed: bool = False) -> int:
    """The working percentage a test is held to: its history's, 70 without history, 99 when the query failed."""
    if history_failed:
        return HISTORY_FAILED_PERCENT
    return NO_HISTORY_PERCENT if history is None else history.working_percent


def tally_tests(runs: Mapping[str, Sequence[TestCase]]) -> list[TestTally]:
    """Aggregate the test cases of each run (run id → cases, a "Skipped" status allowed) by (suite, test)."""
    seen: dict[TestKey, dict[str, set[str]]] = {}
    for run_id, cases in runs.items():
        for case in cases:
            sets = seen.setdefault((case.suite, case.name), {"Passed": set(), "Failed": set(), "Skipped": set()})
            sets.setdefault(case.status, set()).add(run_id)
    tallies = []
    for (suite, name), sets in sorted(seen.items()):
        passed = sets["Passed"]
        failed = sets["Failed"] - passed
        skipped = sets["Skipped"] - passed - failed
        flaked = passed & sets["Failed"]
        tallies.append(TestTally(suite, name, tuple(sorted(passed)), tuple(sorted(failed)), tuple(sorted(skipped)),
                                 tuple(sorted(flaked))))
    return tallies


def is_always_passing(suite: str, name: str) -> bool:
    """The tests upstream never fails in aggregation (setup steps and upgrade monitors)."""
    return (
        suite in ALWAYS_PASSING_SUITES
        or name in ALWAYS_PASSING_NAMES
        or any(part in name for part in ALWAYS_PASSING_SUBSTRINGS)
        or name.endswith(ALWAYS_PASSING_SUFFIXES)
    )


def is_informing(name: str, patterns: Sequence[str] = INFORMING_PATTERNS) -> bool:
    """Tell whether a test is informing: its name holds `[Informing]` or matches a case-sensitive glob."""
    return INFORMING_MARKER in name or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def test_requirement(passes: int, failures: int, working: int, rules: str | RuleSet = "current") -> int:
    """The passes a test with `passes + failures` attempts needs at `working` percent under `rules`."""
    attempts = passes + failures
    return junit_requirement(required_passes(attempts, working), attempts, rules_for(rules))


test_requirement.__test__ = False  # type: ignore[attr-defined]  # a rule, not a pytest test


def judge_test(
    passes: int,
    failures: int,
    skips: int,
    working_percent: int,
    *,
    rules: str | RuleSet = "current",
    suite: str = "",
    name: str = "",
    informing: bool = False,
) -> str:
    """Judge one aggregated test: "passed" or "failed" (DESIGN §9.2, the era's rules).

    With `suite`/`name` the name-based rules apply too (always-passing tests; today: a failed
    "Undiagnosed panic detected in pod" fails, and an `informing` test never fails).
    """
    return _judge(passes, failures, skips, working_percent, rules_for(rules), suite, name, informing)[0]


def _judge(
    passes: int, failures: int, skips: int, working: int, era: RuleSet, suite: str, name: str, informing: bool
) -> tuple[str, str, int | None]:
    """(status, why, required passes or None)."""
    attempts = passes + failures
    if is_always_passing(suite, name):
        return PASSED, "always passes in aggregation", None
    if era.panic_fails and PANIC_SUBSTRING in name and failures > 0:
        return FAILED, "a panic was detected in at least one run", None
    if passes == 0 and failures == 0:
        return PASSED, "did not run", None
    if passes == 0 and skips > failures:
        return PASSED, "skipped more often than it failed", None
    if attempts < MINIMUM_ATTEMPTS:
        status, why, required = FAILED, f"at least {MINIMUM_ATTEMPTS} attempts are required", None
    elif passes < 1:
        status, why, required = FAILED, "it never passed", None
    else:
        required = test_requirement(passes, failures, working, era)
        ok = passes >= required
        status, why = (PASSED if ok else FAILED), f"{required} passes required at {working}% working"
    if status == FAILED and informing and era.informing_never_fails:
        return PASSED, f"informing, not failing the payload: {why}", required
    return status, why, required


def judge_tests(
    tallies: Sequence[TestTally],
    history: Mapping[TestKey, TestHistory],
    *,
    rules: str | RuleSet = "current",
    history_failed: bool = False,
    history_job: str = "",
    informing_patterns: Sequence[str] = INFORMING_PATTERNS,
) -> list[CheckResult]:
    """One testcase per (suite, test), in the test's own suite, with the passes, failures and run ids as output."""
    era = rules_for(rules)
    results = []
    for tally in tallies:
        past = history.get((tally.suite, tally.name))
        working = working_percent(past, history_failed=history_failed)
        passes, failures, skips = len(tally.passed_runs), len(tally.failed_runs), len(tally.skipped_runs)
        informing = is_informing(tally.name, informing_patterns)
        status, why, required = _judge(passes, failures, skips, working, era, tally.suite, tally.name, informing)
        if history_failed:
            basis = f"the history query failed, so {HISTORY_FAILED_PERCENT}% is assumed"
        elif past is None:
            basis = f"no history in {history_job or 'this job'}, so {NO_HISTORY_PERCENT}% is assumed"
        else:
            basis = (f"{past.passes} passes, {past.failures} failures, {past.flakes} flakes in "
                     f"{history_job or 'this job'}'s history")
        lines = [
            (f"Passed {passes} times, failed {failures} times, skipped {skips} times: {status} ({why}); "
             f"working {working}% ({basis}).")
        ]
        listed = (("Failed runs", tally.failed_runs), ("Passed runs", tally.passed_runs),
                  ("Flaked runs (counted as passed)", tally.flaked_runs), ("Skipped runs", tally.skipped_runs))
        lines.extend(f"{label}: {', '.join(ids)}" for label, ids in listed if ids)
        results.append(CheckResult(
            tally.suite or "(no suite)", tally.name, status, "\n".join(lines), "", None, (),
            kind="test", passed_runs=tally.passed_runs, failed_runs=tally.failed_runs, required=required,
        ))
    return results
