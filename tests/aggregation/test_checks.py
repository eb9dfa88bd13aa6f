from __future__ import annotations

import json
import math

import pytest

from job_run_aggregator.aggregation.checks import (
    COLLECT_TEST_NAME,
    FAILED,
    PASSED,
    SKIPPED,
    SUITE,
    CheckResult,
    HistoricalStats,
    backend_filter,
    check_backend,
    check_collected,
    check_disruption,
    check_mean,
    check_percentile,
    check_zero_disruption,
    format_seconds,
    zero_disruption_percentile,
)
from job_run_aggregator.errors import ConfigError

from paths import REFERENCE
BACKEND = "kube-api-new-connections"


def real_backend_names() -> list[str]:
    rows = json.loads((REFERENCE / "backend_query_results_2022-12.json").read_text())
    return sorted({row["BackendName"] for row in rows})


def single_node_job() -> str:
    names = (REFERENCE / "job_names_2023-02.txt").read_text().splitlines()
    return next(n for n in names if n.endswith("-e2e-aws-single-node"))


def runs_of(*seconds: float) -> list[tuple[str, float]]:
    return [(f"17{index:08d}", value) for index, value in enumerate(seconds)]


def stats(percentile: dict[int, float] | None = None, mean: float = 2.0, stddev: float | None = 1.0) -> HistoricalStats:
    return HistoricalStats(percentiles=percentile or {}, mean=mean, stddev=stddev, count=250)


# 10 attempts: table P70 = 3, P85 = 5, P95 = 7 => required 2, 4, 6.
@pytest.mark.parametrize(
    ("seconds", "p", "pk", "status", "passes", "failures", "required"),
    [
        pytest.param([5] * 10, 70, 5.0, PASSED, 10, 0, 2, id="equal-to-pk-passes"),
        pytest.param([5.01] * 10, 70, 5.0, FAILED, 0, 10, 2, id="just-above-pk-fails"),
        pytest.param([1, 2] + [9] * 8, 70, 5.0, PASSED, 2, 8, 2, id="p70-exactly-required"),
        pytest.param([1] + [9] * 9, 70, 5.0, FAILED, 1, 9, 2, id="p70-one-short"),
        pytest.param([0] * 4 + [9] * 6, 85, 5.0, PASSED, 4, 6, 4, id="p85-exactly-required"),
        pytest.param([0] * 3 + [9] * 7, 85, 5.0, FAILED, 3, 7, 4, id="p85-one-short"),
        pytest.param([0] * 6 + [9] * 4, 95, 5.0, PASSED, 6, 4, 6, id="p95-table-minus-one-passes"),
        pytest.param([0] * 5 + [9] * 5, 95, 5.0, FAILED, 5, 5, 6, id="p95-one-short"),
        pytest.param([0] + [9] * 3, 95, 5.0, PASSED, 1, 3, 1, id="4-attempts-p95-needs-one"),
        pytest.param([9] * 4, 95, 5.0, FAILED, 0, 4, 1, id="4-attempts-zero-passes"),
        pytest.param([9] * 3, 95, 5.0, SKIPPED, 0, 3, 0, id="3-attempts-p95-table-1-skips"),
        pytest.param([9] * 3, 70, 5.0, SKIPPED, 0, 3, -1, id="3-attempts-p70-table-0-skips"),
        pytest.param([9] * 2, 95, 5.0, SKIPPED, 0, 2, 0, id="2-attempts-never-judged"),
        pytest.param([9], 95, 5.0, SKIPPED, 0, 1, -1, id="1-attempt-never-judged"),
        pytest.param([0] * 30, 95, 5.0, PASSED, 30, 0, 24, id="30-attempts-beyond-go-table"),
        pytest.param([0] * 23 + [9] * 7, 95, 5.0, FAILED, 23, 7, 24, id="30-attempts-one-short"),
    ],
)
def test_percentile_rules(
    seconds: list[float], p: int, pk: float, status: str, passes: int, failures: int, required: int
) -> None:
    result = check_percentile(BACKEND, runs_of(*seconds), stats({p: pk}), p)
    assert (result.status, len(result.passed_runs), len(result.failed_runs), result.required) == (
        status,
        passes,
        failures,
        required,
    )
    assert result.name == f"{BACKEND} disruption P{p} should not be worse"
    assert result.threshold == pk


def test_zero_passes_message_lists_runs() -> None:
    runs = [("1790", 11.0), ("1791", 19.0), ("1792", 22.0), ("1793", 17.5)]
    result = check_percentile(BACKEND, runs, stats({95: 5.0}), 95)
    assert result.status == FAILED
    assert result.message == (
        "Zero of 4 runs at or below historical P95=5s (250 runs); at least one is required. "
        "Failed runs: 1790=11s 1791=19s 1792=22s 1793=17.5s."
    )


def test_percentile_messages() -> None:
    runs = [("1790", 1.0), ("1791", 9.0), ("1792", 12.0), ("1793", 7.5), ("1794", 0.0)]
    # 5 attempts at P85: table 2 => 1 required; 2 passes.
    passed = check_percentile(BACKEND, runs, stats({85: 5.0}), 85)
    assert passed.status == PASSED
    assert passed.message == (
        "2 of 5 runs at or below historical P85=5s (250 runs); 1 required. "
        "Failed runs: 1791=9s 1792=12s 1793=7.5s. Passed runs: 1790=1s 1794=0s."
    )
    # 4 attempts at P95: table 2 => 1 required
    one = check_percentile(BACKEND, [(r, s) for r, s in runs if s > 5] + [("1794", 0.0)], stats({95: 5.0}), 95)
    assert one.status == PASSED
    assert one.message == (
        "1 of 4 runs at or below historical P95=5s (250 runs); 1 required. "
        "Failed runs: 1791=9s 1792=12s 1793=7.5s. Passed runs: 1794=0s."
    )
    skipped = check_percentile(BACKEND, runs[:3], stats({70: 5.0}), 70)
    assert skipped.message == (
        "Skipped: with 3 runs at P70 the required passes are -1 (table 0 − 1), too few to detect a regression."
    )
    missing = check_percentile(BACKEND, runs, stats({95: 5.0}), 70)
    assert (missing.status, missing.message) == (SKIPPED, f"Skipped: the history of {BACKEND} has no P70.")


def test_failing_percentile_message_names_required() -> None:
    runs = runs_of(0, 0, 0, 0, 0, 9, 9, 9, 9, 9)
    result = check_percentile(BACKEND, runs, stats({95: 5.0}), 95)
    assert result.status == FAILED
    assert result.message == (
        "5 of 10 runs at or below historical P95=5s (250 runs); 6 required. "
        "Failed runs: 1700000005=9s 1700000006=9s 1700000007=9s 1700000008=9s 1700000009=9s. "
        "Passed runs: 1700000000=0s 1700000001=0s 1700000002=0s 1700000003=0s 1700000004=0s."
    )


ZERO_TO_P90 = {k: 0.0 if k <= 90 else float(k - 90) for k in range(1, 100)}


@pytest.mark.parametrize(
    ("percentiles", "expected"),
    [
        pytest.param(ZERO_TO_P90, 90, id="zero-through-p90"),
        pytest.param({k: 0.0 for k in range(1, 100)}, 99, id="always-zero"),
        pytest.param({k: 0.5 * k for k in range(1, 100)}, 0, id="p1-already-positive"),
        pytest.param({1: 0.0, 2: 0.0, 3: 1.0, 4: 0.0}, 2, id="prefix-only"),
    ],
)
def test_zero_disruption_percentile(percentiles: dict[int, float], expected: int) -> None:
    assert zero_disruption_percentile(stats(percentiles)) == expected


# 10 attempts at P90: table 6 => 5 required.
@pytest.mark.parametrize(
    ("seconds", "status", "passes"),
    [
        pytest.param([0] * 5 + [1] * 5, PASSED, 5, id="five-zero-runs-pass"),
        pytest.param([0] * 4 + [1] * 6, FAILED, 4, id="four-zero-runs-fail"),
        pytest.param([1] * 10, FAILED, 0, id="no-zero-run"),
    ],
)
def test_zero_disruption_rules(seconds: list[float], status: str, passes: int) -> None:
    result = check_zero_disruption(BACKEND, runs_of(*seconds), stats(ZERO_TO_P90))
    assert (result.status, len(result.passed_runs), result.required, result.percentile) == (status, passes, 5, 90)
    assert result.name == f"{BACKEND} zero-disruption should not be worse"
    assert result.threshold == 0.0


def test_zero_disruption_skipped_when_p1_positive() -> None:
    result = check_zero_disruption(BACKEND, runs_of(*[0] * 10), stats({k: 2.0 + k for k in range(1, 100)}))
    assert result.status == SKIPPED
    assert result.message == (
        f"Skipped: no historical percentile of {BACKEND} is zero (P1=3s), "
        "so there is no zero-disruption rate to hold the runs to."
    )


@pytest.mark.parametrize(
    ("seconds", "history", "status", "threshold", "dropped"),
    [
        pytest.param([7, 8, 9], stats({95: 50}), FAILED, 7.0, (), id="mean-above-mean-plus-5sd"),
        pytest.param([6, 7, 7], stats({95: 50}), PASSED, 7.0, (), id="mean-equal-threshold-passes"),
        pytest.param([2, 2, 2, 50], stats({95: 10}), PASSED, 7.0, ("1700000003",), id="outlier-above-p95-dropped"),
        pytest.param([2, 2, 50, 50], stats({95: 10}), FAILED, 7.0, ("1700000002",), id="only-one-outlier-dropped"),
        pytest.param([6, 6, 12], stats({95: 12}), FAILED, 7.0, (), id="largest-equal-p95-kept"),
        pytest.param([6, 6, 12], stats({95: 11.9}), PASSED, 7.0, ("1700000002",), id="largest-above-p95-dropped"),
        pytest.param([2, 2, 50], stats({}), FAILED, 7.0, (), id="no-p95-no-drop"),
        pytest.param([1, 1, 1], stats({95: 5}, mean=0.1, stddev=0.05), PASSED, 1.0, (), id="floor-1s-passes"),
        pytest.param([1, 1, 2], stats({95: 5}, mean=0.1, stddev=0.05), FAILED, 1.0, (), id="floor-1s-fails"),
        pytest.param([3, 3, 3], stats({95: 5}, mean=2.5, stddev=None), FAILED, 2.5, (), id="no-stddev-counts-zero"),
        pytest.param([], stats({95: 5}), PASSED, 7.0, (), id="no-runs-nan-mean-passes"),
        pytest.param([90], stats({95: 5}), PASSED, 7.0, ("1700000000",), id="only-run-dropped-nan-passes"),
    ],
)
def test_mean_rules(
    seconds: list[float], history: HistoricalStats, status: str, threshold: float, dropped: tuple[str, ...]
) -> None:
    result = check_mean(BACKEND, runs_of(*seconds), history)
    assert (result.status, result.threshold, result.dropped_runs) == (status, threshold, dropped)
    assert result.name == f"{BACKEND} mean disruption should be less than historical plus five standard deviations"


def test_mean_messages() -> None:
    failed = check_mean(BACKEND, [("11", 2.0), ("12", 3.0), ("13", 50.0), ("14", 40.0)], stats({95: 10}))
    assert failed.message == (
        "Mean disruption of 3 runs is 15s, above the threshold 7s (historical mean 2s + 5 × stddev 1s over 250 runs). "
        "Runs: 11=2s 12=3s 14=40s. Dropped outlier 13=50s (above historical P95=10s)."
    )
    floored = check_mean(BACKEND, [("11", 0.0), ("12", 1.0), ("13", 0.0)], stats({95: 1}, mean=0.1, stddev=0.05))
    assert floored.message == (
        "Mean disruption of 3 runs is 0.33s, within the threshold 1s "
        "(historical mean 0.1s + 5 × stddev 0.05s = 0.35s, floored at 1s over 250 runs). Runs: 11=0s 12=1s 13=0s."
    )
    empty = check_mean(BACKEND, [], stats({95: 1}))
    assert empty.message == "No runs to average; threshold 7s (historical mean 2s + 5 × stddev 1s over 250 runs)."


@pytest.mark.parametrize(
    ("runs", "status", "message"),
    [
        pytest.param(
            {"a": [("101", 0.0), ("102", 1.0)], "b": [("101", 0.0)]},
            FAILED,
            "Only 2 runs reported disruption data (101, 102); at least 3 are required, so no backend was judged.",
            id="two-runs-fail",
        ),
        pytest.param(
            {"a": [("101", 0.0), ("102", 1.0)], "b": [("103", 0.0)]},
            PASSED,
            "3 runs reported disruption data (101, 102, 103).",
            id="runs-counted-across-backends",
        ),
        pytest.param(
            {},
            FAILED,
            "Only 0 runs reported disruption data (none); at least 3 are required, so no backend was judged.",
            id="no-data",
        ),
    ],
)
def test_collect_gate(runs: dict[str, list[tuple[str, float]]], status: str, message: str) -> None:
    result = check_collected(runs)
    assert (result.suite, result.name, result.status, result.message) == (SUITE, COLLECT_TEST_NAME, status, message)


def test_gate_failure_evaluates_nothing_else() -> None:
    history = {"a": stats({70: 0.0, 85: 0.0, 95: 0.0})}
    results = check_disruption({"a": [("1", 99.0), ("2", 99.0)]}, history)
    assert [(r.name, r.status) for r in results] == [(COLLECT_TEST_NAME, FAILED)]


def test_no_history_skips_every_check_with_reason() -> None:
    results = check_backend(BACKEND, runs_of(1, 2, 3), None, job_name="periodic-ci-x")
    assert [r.status for r in results] == [SKIPPED] * 5
    assert {r.message for r in results} == {f"Skipped: no historical disruption data for {BACKEND} in periodic-ci-x."}
    assert [r.name for r in results] == [
        f"{BACKEND} mean disruption should be less than historical plus five standard deviations",
        f"{BACKEND} disruption P70 should not be worse",
        f"{BACKEND} disruption P85 should not be worse",
        f"{BACKEND} disruption P95 should not be worse",
        f"{BACKEND} zero-disruption should not be worse",
    ]


def full_history() -> HistoricalStats:
    return stats(ZERO_TO_P90)


def test_check_disruption_judges_every_backend_in_order() -> None:
    names = real_backend_names()[:3]
    runs = {name: runs_of(*[0] * 10) for name in reversed(names)}
    results = check_disruption(runs, {names[0]: full_history(), names[1]: full_history()}, job_name="job")
    assert results[0].name == COLLECT_TEST_NAME and results[0].status == PASSED
    assert [r.backend for r in results[1:]] == [n for n in names for _ in range(5)]
    assert [r.status for r in results[1:11]] == [PASSED] * 5 + [PASSED] * 5
    assert [r.status for r in results[11:]] == [SKIPPED] * 5
    assert all(isinstance(r, CheckResult) and r.suite == SUITE for r in results)


@pytest.mark.parametrize(
    ("patterns", "kept"),
    [
        pytest.param(["*-reused-connections"], 10, id="glob-whole-name"),
        pytest.param(["re:^cache-"], 14, id="regex-search"),
        pytest.param(["re:reused", "image-registry-*"], 9, id="several-patterns"),
        pytest.param(["KUBE-*"], 20, id="glob-case-sensitive"),
        pytest.param(["kube-api"], 20, id="glob-needs-whole-name"),
    ],
)
def test_exclude_backends_on_real_names(patterns: list[str], kept: int) -> None:
    names = real_backend_names()
    assert len(names) == 20
    is_excluded = backend_filter(patterns)
    assert sum(not is_excluded(n) for n in names) == kept
    results = check_disruption({n: runs_of(0, 0, 0) for n in names}, {}, exclude_backends=patterns)
    assert len({r.backend for r in results if r.backend}) == kept


def test_exclusion_does_not_change_the_gate() -> None:
    results = check_disruption({"a": runs_of(0, 0, 0)}, {}, exclude_backends=["a"])
    assert [(r.name, r.status) for r in results] == [(COLLECT_TEST_NAME, PASSED)]


def test_invalid_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as excinfo:
        backend_filter(["re:(unclosed"])
    message = str(excinfo.value)
    assert message.startswith("--exclude-backend 're:(unclosed': invalid regular expression (")
    assert "unterminated subpattern" in message


def test_skip_single_node_jobs() -> None:
    job = single_node_job()
    runs = {BACKEND: runs_of(*[99] * 10)}
    history = {BACKEND: full_history()}
    skipped = check_disruption(runs, history, job_name=job, skip_single_node=True)
    assert [r.status for r in skipped] == [SKIPPED] * 6
    assert skipped[0].message == f"Skipped: {job} is a single-node job and single-node jobs are not judged."
    judged = check_disruption(runs, history, job_name=job)
    assert FAILED in {r.status for r in judged}
    ha = check_disruption(runs, history, job_name=job.replace("-single-node", ""), skip_single_node=True)
    assert FAILED in {r.status for r in ha}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(12.0, "12s", id="whole"),
        pytest.param(2.5, "2.5s", id="half"),
        pytest.param(1 / 3, "0.33s", id="two-places"),
        pytest.param(0.0, "0s", id="zero"),
        pytest.param(math.nan, "NaN", id="nan"),
    ],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text
