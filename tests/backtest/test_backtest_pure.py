"""The pure parts of the backtest and of `calibrated:TARGET`: intervals, planting, the allowance, the spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from job_run_aggregator.backtest import BacktestSpec, Tally, is_planted, parse_plant, wilson_interval
from job_run_aggregator.errors import ConfigError
from job_run_aggregator.matching.calibrated import (
    Tail,
    cell_candidates,
    expected_rates,
    parse_target,
    pooled_allowances,
    rank_from_top,
    rates_at,
    step_seconds_of,
    target_of,
)
from job_run_aggregator.matching.presets import preset_for

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        pytest.param(0, 300, 0.0, 0.01264, id="zero-of-300-is-not-zero-wide"),
        pytest.param(10, 1000, 0.00544, 0.01831, id="1-percent-of-1000"),
        pytest.param(50, 100, 0.40383, 0.59617, id="half"),
        pytest.param(5, 5, 0.56552, 1.0, id="all"),
    ],
)
def test_wilson_interval(successes: int, trials: int, low: float, high: float) -> None:
    found = wilson_interval(successes, trials)
    assert found is not None
    assert found == pytest.approx((low, high), abs=1e-5)


def test_no_trials_no_interval() -> None:
    assert wilson_interval(0, 0) is None


def test_planting_is_deterministic_and_hits_the_share() -> None:
    picks = [is_planted(7, f"run{i}", "kube-api-new-connections", 0.05) for i in range(20_000)]
    assert picks == [is_planted(7, f"run{i}", "kube-api-new-connections", 0.05) for i in range(20_000)]
    assert 0.045 < sum(picks) / len(picks) < 0.055
    assert picks != [is_planted(8, f"run{i}", "kube-api-new-connections", 0.05) for i in range(20_000)]
    assert not any(is_planted(7, f"run{i}", "x", 0.0) for i in range(1000))
    assert all(is_planted(7, f"run{i}", "x", 1.0) for i in range(1000))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30:0.05", (30.0, 0.05)), ("0.5:1/20", (0.5, 0.05)), (None, (0.0, 0.0))],
)
def test_parse_plant(text: str | None, expected: tuple[float, float]) -> None:
    assert parse_plant(text) == expected


@pytest.mark.parametrize("text", ["30", "x:0.1", "30:2", "-1:0.1", "30:"])
def test_parse_plant_errors(text: str) -> None:
    with pytest.raises(ConfigError, match=r"--plant"):
        parse_plant(text)


def test_tally_counts_false_failures_and_detections_apart() -> None:
    tally = Tally()
    for run, status, planted in [("a", "fail", False), ("a", "pass", False), ("b", "fail", True), ("b", "pass", True),
                                 ("c", "skip", False), ("c", "flake", False)]:
        tally.add(run, status, planted)
    data = tally.to_json()
    assert (data["Runs"], data["Judged"], data["Failed"], data["Skipped"]) == (3, 5, 2, 1)
    assert (data["FalseFailures"], data["Unplanted"], data["Detected"], data["Planted"]) == (1, 3, 1, 2)
    assert data["FalseFailureRate"] == pytest.approx(1 / 3) and data["DetectionRate"] == 0.5
    assert data["Coverage"] == pytest.approx(5 / 6)


# ---- calibrated:TARGET ------------------------------------------------------------------------------------------

def test_rank_is_exact() -> None:
    # 0.01 × 100 is 1 exactly (floating point says 0.9999…9 for some spellings)
    assert rank_from_top(99, parse_target("0.01")) == 1
    assert rank_from_top(98, parse_target("0.01")) == 0
    assert rank_from_top(489, parse_target("0.01")) == 4


LARGEST = (54.0, 47.0, 47.0, 30.0, 22.0, 22.0, 19.0)


@pytest.mark.parametrize(
    ("runs", "largest", "expected"),
    [
        pytest.param(98, LARGEST, [], id="too-few-runs-no-candidate"),
        # 54: nothing above, rate 1/100; 54 - 30 = 24 and 4 kept values exceed it. 47: one above (ties count
        # once), rate 2/100; all 7 kept exceed 17 (a lower bound: 92 runs are not kept). 30 would be 4/100 > 3 %.
        pytest.param(99, LARGEST, [(54.0, Fraction(1, 100), Fraction(4, 99)), (47.0, Fraction(2, 100), Fraction(7, 99))],
                     id="up-to-the-cap-ties-once"),
        pytest.param(99, (5.0, 3.0), [(5.0, Fraction(1, 100), Fraction(1)), (3.0, Fraction(2, 100), Fraction(1))],
                     id="quiet-cell-every-step-seen"),
    ],
)
def test_cell_candidates(runs: int, largest: tuple[float, ...], expected: list) -> None:
    found = cell_candidates(Tail(runs, largest), Fraction("0.01"), Fraction(30))
    assert [(c.allowance, c.false_failure, c.detection) for c in found] == expected


QUIET = Tail(299, (5.0, 3.0, 2.0))
SPIKY = Tail(299, LARGEST)
HEAVY = Tail(299, (100.0, 95.0, 90.0, 85.0, 80.0, 75.0, 70.0, 65.0, 60.0, 55.0, 50.0, 45.0))


@pytest.mark.parametrize(
    ("cells", "target", "cap", "expected"),
    [
        # Budget 0.01 × 598 = 5.98 runs; both start at their maximum (1/300 each, 1.99 runs); the quiet cell sees
        # every +30 s step already, so the spiky one gets the rest: 47 (2/300), then 22 (5/300: 22 - 30 < 0, every
        # stepped run exceeds it), which costs the last 3 × 299/300 runs exactly.
        pytest.param({"q": QUIET, "s": SPIKY}, "0.01", 3, {"q": 5.0, "s": 22.0}, id="quiet-cell-funds-a-spiky-one"),
        # At 0.005 the 2.99 runs pay for the maxima and one step (47); 22 (5/300) is above the cap (1.5 %) anyway.
        pytest.param({"q": QUIET, "s": SPIKY}, "0.005", 3, {"q": 5.0, "s": 47.0}, id="half-the-budget-one-step"),
        # Alone, the heavy cell has 0.01 × 299 runs: its maximum and two equal steps (3/300 = 1 %) fit.
        pytest.param({"h": HEAVY}, "0.01", 3, {"h": 90.0}, id="alone-a-cell-gets-its-target"),
        # Four quiet cells fund the heavy one up to 70 (7/300), where its detection stops rising.
        pytest.param({"q1": QUIET, "q2": QUIET, "q3": QUIET, "q4": QUIET, "h": HEAVY}, "0.01", 3,
                     {"q1": 5.0, "q2": 5.0, "q3": 5.0, "q4": 5.0, "h": 70.0}, id="pooled-beyond-the-target"),
        # The same, with the cap at 1 × TARGET: the heavy cell stops at 3/300.
        pytest.param({"q1": QUIET, "q2": QUIET, "q3": QUIET, "q4": QUIET, "h": HEAVY}, "0.01", 1,
                     {"q1": 5.0, "q2": 5.0, "q3": 5.0, "q4": 5.0, "h": 90.0}, id="the-cap-holds"),
        pytest.param({"small": Tail(98, LARGEST), "q": QUIET}, "0.01", 3, {"q": 5.0}, id="too-small-cell-gets-none"),
        pytest.param({}, "0.01", 3, {}, id="no-cells"),
    ],
)
def test_pooled_allowances(cells: dict, target: str, cap: int, expected: dict) -> None:
    assert pooled_allowances(cells, Fraction(target), Fraction(30), cap) == expected


def test_pooled_budget_holds_on_random_cells() -> None:
    import random

    rng = random.Random(22)
    for _ in range(30):
        cells = {}
        for index in range(rng.randint(1, 12)):
            runs = rng.randint(50, 900)
            values = sorted((round(rng.expovariate(1 / rng.choice([1, 5, 20, 60])), 1) for _ in range(runs)),
                            reverse=True)
            cells[index] = Tail(runs, tuple(values[:rng.choice([8, 64, runs])]))
        target = Fraction(rng.choice(["0.005", "0.01", "0.05"]))
        pooled = pooled_allowances(cells, target)
        assert pooled == pooled_allowances(dict(reversed(cells.items())), target)  # deterministic, order-free
        assert set(pooled) == {i for i, t in cells.items() if rank_from_top(t.runs, target) >= 1}
        false_failure, detection = expected_rates(cells, pooled)
        assert false_failure <= target
        for key, allowance in pooled.items():
            strictest = cell_candidates(cells[key], target, Fraction(30))[0]
            rate = rates_at(cells[key], allowance).false_failure
            assert rate <= max(3 * target, strictest.false_failure)
        # never worse than every cell at its own strictest candidate (the greedy only adds detection)
        strict = {key: cell_candidates(cells[key], target, Fraction(30))[0].allowance for key in pooled}
        assert detection >= expected_rates(cells, strict)[1]


@pytest.mark.parametrize(("rules", "seconds"), [("calibrated:0.01", 30), ("calibrated:0.01:45", 45),
                                                ("calibrated:0.01:2.5", Fraction(5, 2))])
def test_step_seconds(rules: str, seconds: Fraction) -> None:
    assert step_seconds_of(rules) == seconds and target_of(rules) == Fraction("0.01")
    assert preset_for(rules).name == rules


@pytest.mark.parametrize("text", ["0.01:x", "0.01:-5", "0.01:0", "0.01:"])
def test_bad_step_seconds(text: str) -> None:
    with pytest.raises(ConfigError, match=rf"--rules calibrated:{text}: SECONDS must"):
        preset_for(f"calibrated:{text}")


@pytest.mark.parametrize("text", ["0", "1", "1.5", "-0.1", "abc", ""])
def test_bad_targets(text: str) -> None:
    with pytest.raises(ConfigError, match=rf"--rules calibrated:{text}: TARGET must"):
        preset_for(f"calibrated:{text}")


def test_calibrated_preset_walks_like_current() -> None:
    calibrated, current = preset_for("calibrated:0.01"), preset_for("current")
    assert calibrated.name == "calibrated:0.01"
    assert [g.name for g in calibrated.guessers] == [g.name for g in current.guessers]
    assert (calibrated.strict_exact, calibrated.strict_fallback) == (current.strict_exact, current.strict_fallback)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"end": T0}, "must be before --to", id="empty-period"),
        pytest.param({"step": timedelta(0)}, "--step must be positive", id="step"),
        pytest.param({"window": timedelta(hours=36)}, "--window must be a whole number of days", id="window"),
        pytest.param({"rules": ("2021",)}, "--rules '2021': unknown rule set", id="rules"),
        pytest.param({"data_type": "tests"}, "--data-type 'tests'", id="data-type"),
    ],
)
def test_spec_errors(kwargs: dict, message: str) -> None:
    args = {"start": T0, "end": T0 + timedelta(days=7), **kwargs}
    with pytest.raises(ConfigError, match=message):
        BacktestSpec(**args)


def test_steps_cover_the_period() -> None:
    spec = BacktestSpec(T0, T0 + timedelta(days=20), step=timedelta(days=7))
    assert spec.step_starts() == [T0, T0 + timedelta(days=7), T0 + timedelta(days=14)]


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(b'{"a": 1}', id="not-an-array"),
        pytest.param(b"[1]", id="not-an-object"),
        pytest.param(b'[{"BackendName": "b", "Release": "4.14", "FromRelease": "", "Platform": "aws", '
                     b'"Architecture": "amd64", "Network": "ovn", "Topology": "ha", "CellRuns": 100, '
                     b'"Largest": [NaN]}]', id="nan-would-pass-everything"),
        pytest.param(b'[{"BackendName": "b", "Release": "4.14", "FromRelease": "", "Platform": "aws", '
                     b'"Architecture": "amd64", "Network": "ovn", "Topology": "ha", "CellRuns": 1, '
                     b'"Largest": [3, 2]}]', id="more-values-than-runs"),
        pytest.param(b"\xff", id="not-utf8"),
    ],
)
def test_hostile_calibration_files_are_refused(document: bytes) -> None:
    from job_run_aggregator.errors import InputError
    from job_run_aggregator.matching.calibrated import load_calibration

    with pytest.raises(InputError) as caught:
        load_calibration(document, "cal.json")
    assert caught.value.path == "cal.json"


def test_a_calibration_file_round_trips() -> None:
    from job_run_aggregator.matching.calibrated import allowances_from_calibration, load_calibration
    from job_run_aggregator.matching.keys import DataKey, JobType

    document = (b'[{"BackendName": "b", "Release": "4.14", "FromRelease": "", "Platform": "aws", '
                b'"Architecture": "amd64", "Network": "ovn", "Topology": "ha", "CellRuns": 199, "Target": "0.01", '
                b'"Allowance": 9.0, "Largest": [9, 12, 3]}]')
    key = DataKey("b", JobType("4.14", "", "aws", "amd64", "ovn", "ha"))
    assert load_calibration(document, "cal.json") == {key: Tail(199, (12.0, 9.0, 3.0))}
    # 12 + 30 s exceeds every value already: the strictest allowance, 12, detects every +30 s step
    assert allowances_from_calibration(load_calibration(document, "c"), Fraction("0.01")) == {key: 12.0}
    # a +2 s step is seen only above 10: the budget of 1.99 runs buys the next value down, 9 (2/200)
    assert allowances_from_calibration(load_calibration(document, "c"), Fraction("0.01"), Fraction(2)) == {key: 9.0}
