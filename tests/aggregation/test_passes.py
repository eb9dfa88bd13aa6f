from __future__ import annotations

import itertools

import pytest
from scipy.stats import fisher_exact

from job_run_aggregator.aggregation.passes import (
    CORPUS_RUNS,
    fisher_less_p_value,
    format_pass_table,
    historical_passes,
    pass_table,
    required_passes,
    required_passes_row,
)
from job_run_aggregator.errors import InputError

# DESIGN §9, copied from ci-tools' jobrunaggregatoranalyzer: attempts -> {passes: from working percent}.
UPSTREAM_TABLE = {
    1: {1: 96},
    2: {1: 79},
    3: {1: 87, 2: 99},
    4: {1: 76, 2: 91, 3: 99},
    5: {1: 67, 2: 82, 3: 94, 4: 100},
    6: {1: 59, 2: 74, 3: 86, 4: 95, 5: 100},
    7: {1: 53, 2: 67, 3: 79, 4: 88, 5: 95, 6: 100},
    8: {1: 48, 2: 61, 3: 72, 4: 82, 5: 90, 6: 96, 7: 100},
    9: {1: 44, 2: 56, 3: 67, 4: 76, 5: 84, 6: 91, 7: 97, 8: 100},
    10: {1: 41, 2: 52, 3: 62, 4: 71, 5: 79, 6: 86, 7: 92, 8: 98, 9: 100},
    11: {1: 38, 2: 48, 3: 58, 4: 66, 5: 74, 6: 81, 7: 87, 8: 93, 9: 98, 10: 100},
    12: {1: 35, 2: 45, 3: 54, 4: 62, 5: 70, 6: 77, 7: 83, 8: 89, 9: 94, 10: 98, 11: 100},
}


@pytest.mark.parametrize("attempts", [pytest.param(n, id=f"{n}-attempts") for n in UPSTREAM_TABLE])
def test_pass_table_reproduces_upstream_row(attempts: int) -> None:
    assert pass_table(attempts) == UPSTREAM_TABLE[attempts]


def test_every_upstream_cell_by_lookup() -> None:
    for attempts, row in UPSTREAM_TABLE.items():
        thresholds = sorted(row.items())
        for percent in range(101):
            expected = max((passes for passes, start in thresholds if start <= percent), default=0)
            assert required_passes(attempts, percent) == expected, (attempts, percent)


def test_format_pass_table_in_design_notation() -> None:
    assert format_pass_table(4) == "1: 1@96 · 2: 1@79 · 3: 1@87 2@99 · 4: 1@76 2@91 3@99"


@pytest.mark.parametrize(
    ("percent", "passes"),
    [
        pytest.param(87, 218, id="217.5-rounds-to-even-218"),
        pytest.param(85, 212, id="212.5-rounds-to-even-212"),
        pytest.param(70, 175, id="exact"),
        pytest.param(100, 250, id="all"),
        pytest.param(0, 0, id="none"),
    ],
)
def test_historical_passes_round_half_to_even(percent: int, passes: int) -> None:
    assert historical_passes(percent) == passes


@pytest.mark.parametrize(
    ("passes", "attempts", "percent"),
    [
        pytest.param(0, 1, 96, id="1-attempt-0-passes"),
        pytest.param(1, 3, 87, id="3-attempts-boundary"),
        pytest.param(4, 10, 70, id="10-attempts-p70"),
        pytest.param(8, 12, 95, id="12-attempts-p95"),
        pytest.param(20, 30, 85, id="30-attempts-p85"),
        pytest.param(0, 30, 16, id="30-attempts-low-rate"),
    ],
)
def test_p_value_equals_scipy_fisher_exact_less(passes: int, attempts: int, percent: int) -> None:
    ok = historical_passes(percent)
    table = [[passes, attempts - passes], [ok, CORPUS_RUNS - ok]]
    expected = fisher_exact(table, alternative="less").pvalue
    assert float(fisher_less_p_value(passes, attempts, ok)) == pytest.approx(expected, rel=1e-12)


def test_table_is_built_from_the_fisher_boundary() -> None:
    # 3 attempts at 87%: 1 pass is significantly worse (p <= 0.05), 2 passes are not, so the entry is 1.
    ok = historical_passes(87)
    assert fisher_less_p_value(1, 3, ok) <= 0.05 < fisher_less_p_value(2, 3, ok)
    assert required_passes(3, 87) == 1
    assert required_passes(3, 86) == 0


@pytest.mark.parametrize("attempts", [pytest.param(n, id=f"{n}-attempts") for n in range(13, 31)])
def test_beyond_upstream_rows_are_sane(attempts: int) -> None:
    row = required_passes_row(attempts)
    previous = required_passes_row(attempts - 1)
    assert all(a <= b for a, b in itertools.pairwise(row)), "monotone in working percent"
    assert all(a <= b for a, b in zip(previous, row)), "monotone in attempts"
    assert row[0] == 0
    assert attempts - 2 <= row[100] <= attempts - 1
    assert row[50] < row[90] < attempts


def test_beyond_upstream_matches_scipy_boundary() -> None:
    for attempts in (13, 20, 30):
        for percent in (50, 70, 85, 95, 100):
            ok = historical_passes(percent)
            fewest = next(
                k
                for k in range(attempts + 1)
                if fisher_exact([[k, attempts - k], [ok, CORPUS_RUNS - ok]], alternative="less").pvalue > 0.05
            )
            assert required_passes(attempts, percent) == max(fewest - 1, 0), (attempts, percent)


@pytest.mark.parametrize(
    ("attempts", "percent", "expected"),
    [
        pytest.param(0, 95, 0, id="no-attempts"),
        pytest.param(10, 70.9, 3, id="fraction-truncates-like-go-index"),
        pytest.param(10, 71, 4, id="whole-percent"),
    ],
)
def test_required_passes_edges(attempts: int, percent: float, expected: int) -> None:
    assert required_passes(attempts, percent) == expected


@pytest.mark.parametrize(
    ("attempts", "percent", "message"),
    [
        pytest.param(-1, 50, "required passes: attempts must be 0 or more, got -1", id="negative-attempts"),
        pytest.param(5, 101, "required passes: working percent must be within 0..100, got 101", id="over-100"),
        pytest.param(5, -0.5, "required passes: working percent must be within 0..100, got -0.5", id="negative"),
    ],
)
def test_required_passes_rejects_bad_input(attempts: int, percent: float, message: str) -> None:
    with pytest.raises(InputError) as excinfo:
        required_passes(attempts, percent)
    assert str(excinfo.value) == message
