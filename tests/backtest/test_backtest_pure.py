"""The pure parts of the backtest and of `calibrated:TARGET`: intervals, planting, the allowance, the spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from job_run_aggregator.backtest import BacktestSpec, Tally, is_planted, parse_plant, wilson_interval
from job_run_aggregator.errors import ConfigError
from job_run_aggregator.matching.calibrated import calibrated_allowance, parse_target, rank_from_top
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
    ("runs", "target", "allowance"),
    [
        pytest.param(98, "0.01", None, id="too-few-runs-no-allowance"),
        pytest.param(99, "0.01", 54.0, id="k1-exact-is-the-maximum"),
        pytest.param(149, "0.01", 50.5, id="k1-half-way-to-the-second"),
        pytest.param(399, "0.01", 30.0, id="k4-exact"),
        pytest.param(489, "0.01", 22.8, id="k4.9-interpolated"),
        pytest.param(1999, "0.01", 19.0, id="fewer-kept-than-needed-uses-the-smallest-kept"),
    ],
)
def test_calibrated_allowance(runs: int, target: str, allowance: float | None) -> None:
    found = calibrated_allowance(LARGEST, runs, Fraction(target))
    assert found == (None if allowance is None else pytest.approx(allowance))


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
    from job_run_aggregator.matching.calibrated import Tail, allowances_from_calibration, load_calibration
    from job_run_aggregator.matching.keys import DataKey, JobType

    document = (b'[{"BackendName": "b", "Release": "4.14", "FromRelease": "", "Platform": "aws", '
                b'"Architecture": "amd64", "Network": "ovn", "Topology": "ha", "CellRuns": 199, "Target": "0.01", '
                b'"Allowance": 9.0, "Largest": [9, 12, 3]}]')
    key = DataKey("b", JobType("4.14", "", "aws", "amd64", "ovn", "ha"))
    assert load_calibration(document, "cal.json") == {key: Tail(199, (12.0, 9.0, 3.0))}
    assert allowances_from_calibration(load_calibration(document, "c"), Fraction("0.01")) == {key: 9.0}
