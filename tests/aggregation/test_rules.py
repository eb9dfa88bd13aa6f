"""Rule vectors per era (DESIGN §9, §9.1, §9.2): the public pure entries judge_percentile and judge_test."""

from __future__ import annotations

import pytest

from job_run_aggregator.aggregation import judge_percentile, judge_test
from job_run_aggregator.aggregation.checks import HistoricalStats, check_disruption
from job_run_aggregator.aggregation.history_job import choose_history_job, previous_release_job_name
from job_run_aggregator.aggregation.junit_tests import TestHistory, TestTally, judge_tests, tally_tests
from job_run_aggregator.aggregation.passes import required_passes
from job_run_aggregator.aggregation.rules import RULE_NAMES, rules_for
from job_run_aggregator.errors import ConfigError
from job_run_aggregator.model import TestCase

ERAS = ("2023-02", "2023-10", "current")


# ---- percentile checks ------------------------------------------------------------------------------------------

# Ten runs against P70 = 10 s: table[10][70] = 3, so 2 passes are required in every era (pity = 8 ≥ 3).
TWO_AT_TEN = [1.0, 12.0, 12.0, 12.0, 12.0, 12.0, 12.0, 12.0, 12.0, 12.0]  # one pass at 10 s, nine within 10 + 3 s


@pytest.mark.parametrize(
    ("seconds", "percentile", "rules", "status", "graced"),
    [
        pytest.param(TWO_AT_TEN, 70, "2023-02", "failed", False, id="2023-02-no-grace-misses"),
        pytest.param(TWO_AT_TEN, 70, "2023-10", "passed", True, id="2023-10-grace-turns-miss-into-pass"),
        pytest.param(TWO_AT_TEN, 70, "current", "passed", True, id="current-grace-turns-miss-into-pass"),
        pytest.param([1.0] + [16.0] * 9, 85, "current", "passed", True, id="p85-grace-is-7s"),
        pytest.param([1.0] + [17.5] * 9, 85, "current", "failed", False, id="p85-beyond-grace-fails"),
        pytest.param([1.0] + [13.5] * 9, 70, "current", "failed", False, id="p70-beyond-3s-grace-fails"),
        pytest.param([30.0] * 10, 70, "2023-02", "failed", False, id="zero-passes-fail"),
        pytest.param([1.0, 1.0, 1.0], 70, "current", "skipped", False, id="three-runs-at-p70-skip"),
        pytest.param([1.0] * 10, 70, "2023-02", "passed", False, id="all-pass"),
    ],
)
def test_judge_percentile_vectors(seconds, percentile, rules, status, graced) -> None:
    verdict = judge_percentile(seconds, 10.0, percentile, rules=rules)
    assert (verdict.status, verdict.graced) == (status, graced)


def test_grace_threshold_and_runs_are_reported() -> None:
    verdict = judge_percentile({"a": 1.0, "b": 12.0, "c": 20.0, "d": 12.5, "e": 30.0, "f": 11.0, "g": 40.0},
                               10.0, 70, rules="current")
    # 7 attempts at P70: table 2 → required 1 … one pass already: no grace needed.
    assert verdict.status == "passed" and not verdict.graced and verdict.threshold == 10.0
    assert verdict.passed_runs == ("a",) and set(verdict.failed_runs) == {"b", "c", "d", "e", "f", "g"}


def test_explicit_grace_overrides_the_era() -> None:
    assert judge_percentile(TWO_AT_TEN, 10.0, 70, grace=0.0, rules="current").status == "failed"
    assert judge_percentile(TWO_AT_TEN, 10.0, 70, grace=2.0, rules="2023-02").status == "passed"


def test_required_is_table_minus_one_in_every_era_for_percentile_checks() -> None:
    # Pity = attempts − 2 never undercuts table − 1 here (the table never exceeds attempts − 1 from 3 attempts).
    for attempts in range(3, 30):
        for era in ERAS:
            verdict = judge_percentile([1.0] * attempts, 10.0, 99, rules=era)
            assert verdict.required == required_passes(attempts, 99) - 1, (attempts, era)


def test_more_than_twelve_attempts_do_not_crash() -> None:
    verdict = judge_percentile([1.0] * 40, 10.0, 85, rules="2023-02")
    assert verdict.status == "passed" and verdict.required == required_passes(40, 85) - 1 > 0


# ---- disruption suite per era -----------------------------------------------------------------------------------

def _stats(p: float) -> HistoricalStats:
    return HistoricalStats({k: (0.0 if k <= 10 else p) for k in range(1, 100)}, mean=p / 2, stddev=1.0, count=150)


RUNS = {b: [(str(i), 1.0) for i in range(10)] for b in (
    "kube-api-new-connections", "ci-cluster-network-liveness-new-connections", "pod-to-pod-new-connections",
    "kube-api-http2-external-lb-new-connections", "host-to-service-reused-connections")}
HISTORY = {b: _stats(5.0) for b in RUNS}


@pytest.mark.parametrize(
    ("rules", "judged"),
    [
        pytest.param("2023-02", {"kube-api-new-connections", "pod-to-pod-new-connections",
                                 "kube-api-http2-external-lb-new-connections", "host-to-service-reused-connections"},
                     id="2023-02-only-liveness-excluded"),
        pytest.param("2023-10", {"kube-api-new-connections"}, id="2023-10-long-list"),
        pytest.param("current", {"kube-api-new-connections"}, id="current-long-list"),
    ],
)
def test_excluded_backends_produce_no_testcase(rules: str, judged: set[str]) -> None:
    results = check_disruption(RUNS, HISTORY, job_name="periodic-ci-4.14-e2e-aws-ovn", rules=rules)
    assert {r.backend for r in results if r.backend} == judged


@pytest.mark.parametrize(
    ("rules", "checks"),
    [
        pytest.param("2023-02", ["mean", "P70", "P85", "P95", "zero"], id="2023-02"),
        pytest.param("2023-10", ["mean", "P70", "P85"], id="2023-10-p95-and-zero-removed"),
        pytest.param("current", ["mean", "P70", "P85"], id="current"),
    ],
)
def test_checks_per_era(rules: str, checks: list[str]) -> None:
    results = check_disruption({"kube-api-new-connections": RUNS["kube-api-new-connections"]},
                               HISTORY, job_name="periodic-ci-4.14-e2e-aws-ovn", rules=rules)
    kinds = [r.kind if r.kind in ("mean", "zero") else f"P{r.percentile}" for r in results[1:]]
    assert kinds == checks


@pytest.mark.parametrize(("rules", "status"), [("2023-02", "passed"), ("2023-10", "passed"), ("current", "skipped")])
def test_single_node_is_skipped_today(rules: str, status: str) -> None:
    job = "periodic-ci-openshift-release-master-nightly-4.14-e2e-aws-ovn-single-node"
    results = check_disruption({"kube-api-new-connections": RUNS["kube-api-new-connections"]}, HISTORY, job_name=job,
                               rules=rules)
    assert results[0].status == status
    if status == "skipped":
        assert all(r.status == "skipped" for r in results)
        assert results[0].message == f"Skipped: {job} is a single-node job and single-node jobs are not judged."


def test_unknown_era_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"--rules '2022': unknown rule set; choose one of 2023-02, 2023-10, current"):
        rules_for("2022")
    assert RULE_NAMES == ERAS


# ---- junit tests (§9.2) -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("passes", "failures", "skips", "working", "rules", "status"),
    [
        pytest.param(0, 0, 10, 99, "current", "passed", id="did-not-run"),
        pytest.param(0, 2, 5, 99, "current", "passed", id="skips-outnumber-failures"),
        pytest.param(0, 5, 5, 99, "current", "failed", id="skips-equal-failures-fail"),
        pytest.param(5, 0, 0, 99, "current", "failed", id="fewer-than-6-attempts"),
        pytest.param(0, 10, 0, 10, "current", "failed", id="never-passed"),
        # table[10][100] = 9: 2023 eras need 9; today pity = 10 − 2 = 8 lowers it.
        pytest.param(8, 2, 0, 100, "2023-02", "failed", id="2023-02-no-pity"),
        pytest.param(8, 2, 0, 100, "2023-10", "failed", id="2023-10-no-pity"),
        pytest.param(8, 2, 0, 100, "current", "passed", id="current-pity-lowers-requirement"),
        pytest.param(7, 3, 0, 100, "current", "failed", id="current-pity-floor"),
        # table[10][70] = 3
        pytest.param(3, 7, 0, 70, "2023-02", "passed", id="no-history-70-three-of-ten"),
        pytest.param(2, 8, 0, 70, "2023-02", "failed", id="no-history-70-two-of-ten"),
    ],
)
def test_judge_test_vectors(passes, failures, skips, working, rules, status) -> None:
    assert judge_test(passes, failures, skips, working, rules=rules) == status


@pytest.mark.parametrize(
    ("suite", "name"),
    [
        pytest.param("step graph", "anything", id="step-graph"),
        pytest.param("s", "[sig-x] Cluster should remain functional during upgrade [Disruptive]", id="remain"),
        pytest.param("s", "e2e-azure-ovn-gather-azure-cli container test", id="azure-cli"),
        pytest.param("s", "initialize", id="initialize"),
    ],
)
def test_always_passing_tests(suite: str, name: str) -> None:
    for era in ERAS:
        assert judge_test(0, 10, 0, 100, rules=era, suite=suite, name=name) == "passed"


def test_panic_fails_today_even_when_enough_passed() -> None:
    name = "[sig-arch] Undiagnosed panic detected in pod"
    assert judge_test(9, 1, 0, 50, rules="current", name=name) == "failed"
    assert judge_test(9, 1, 0, 50, rules="2023-10", name=name) == "passed"


def test_informing_never_fails_today() -> None:
    assert judge_test(0, 10, 0, 99, rules="current", name="t", informing=True) == "passed"
    assert judge_test(0, 10, 0, 99, rules="2023-10", name="t", informing=True) == "failed"


def test_tally_counts_unique_runs_and_a_flake_as_a_pass() -> None:
    cases = {
        "r1": [TestCase("t", "s", "Failed"), TestCase("t", "s", "Passed")],  # flaked: a pass
        "r2": [TestCase("t", "s", "Failed"), TestCase("t", "s", "Failed")],  # twice in one run: one failure
        "r3": [TestCase("t", "s", "Skipped")],
        "r4": [TestCase("t", "other", "Passed")],
    }
    assert tally_tests(cases) == [
        TestTally("other", "t", ("r4",), ()),
        TestTally("s", "t", ("r1",), ("r2",), ("r3",), ("r1",)),
    ]


@pytest.mark.parametrize(
    ("history", "failed", "working"),
    [
        pytest.param(None, False, 70, id="no-history-70"),
        pytest.param(TestHistory(97, 2, 1), False, 98, id="floor-of-passes-plus-flakes"),
        pytest.param(TestHistory(2, 1, 0), False, 66, id="floor-not-round"),
        pytest.param(TestHistory(50, 0, 0), True, 99, id="query-failed-99"),
    ],
)
def test_working_percent_in_the_output(history, failed, working) -> None:
    tally = TestTally("s", "t", tuple(f"r{i}" for i in range(10)), ())
    (result,) = judge_tests([tally], {("s", "t"): history} if history else {}, history_failed=failed)
    assert f"working {working}%" in result.message
    assert result.message.splitlines()[1] == "Passed runs: " + ", ".join(f"r{i}" for i in range(10))


# ---- previous-release fallback (2023-06) ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("job", "previous"),
    [
        pytest.param("periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade",
                     "periodic-ci-openshift-release-master-ci-4.13-upgrade-from-stable-4.12-e2e-aws-ovn-upgrade",
                     id="both-versions"),
        pytest.param("periodic-ci-openshift-release-master-nightly-4.14-e2e-aws-ovn",
                     "periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-ovn", id="one-version"),
        pytest.param("periodic-ci-openshift-release-master-nightly-4.0-e2e", None, id="minor-zero"),
        pytest.param("periodic-ci-no-version", None, id="no-version"),
        pytest.param("periodic-ci-4.14.2-e2e", None, id="a-z-stream-is-no-release"),
    ],
)
def test_previous_release_job_name(job: str, previous: str | None) -> None:
    assert previous_release_job_name(job) == previous


def test_choose_history_job() -> None:
    job = "periodic-ci-openshift-release-master-nightly-4.14-e2e-aws-ovn"
    prev = "periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-ovn"
    variant = {"Platform": "aws", "Architecture": "amd64", "Network": "ovn", "IPMode": "ipv4", "Topology": "ha",
               "RunsUpgrade": False, "RunsE2EParallel": True, "RunsE2ESerial": False}
    jobs = {job: variant, prev: variant}
    assert choose_history_job(job, 100, jobs, {prev: 500}).job == job
    chosen = choose_history_job(job, 40, jobs, {prev: 150})
    assert chosen.job == prev
    assert chosen.note == (f"Using previous release historical data from job: {prev} (150 runs; {job} has 40, "
                           "fewer than 100).")
    assert choose_history_job(job, 40, jobs, {prev: 30}).job == job
    assert choose_history_job(job, 40, {job: variant, prev: {**variant, "Network": "sdn"}}, {prev: 500}).job == job
    assert choose_history_job(job, 40, {job: variant}, {}).job == job
