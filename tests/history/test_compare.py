from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from job_run_aggregator.history.compare import (
    DEFAULT_LEEWAY_PERCENT,
    Comparison,
    compare,
    needs_review,
    render_markdown,
)
from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.history.results_file import read_query_results, render_query_results, rows_for_release

from paths import FIXTURES as _FIXTURES, REFERENCE

FIXTURES = _FIXTURES / "query_results"
GITHUB_BODY_LIMIT = 65_536


def _read(path: Path) -> list[dict[str, object]]:
    return read_query_results(path.read_bytes(), str(path))


def _row(
    name: str = "kube-api-new-connections",
    release: str = "4.12",
    from_release: str = "4.11",
    platform: str = "aws",
    p95: str = "1.0",
    p99: str = "10.0",
    job_runs: int = 100,
    **extra: object,
) -> dict[str, object]:
    return {
        "BackendName": name,
        "Release": release,
        "FromRelease": from_release,
        "Platform": platform,
        "Architecture": "amd64",
        "Network": "ovn",
        "Topology": "ha",
        **extra,
        "JobRuns": job_runs,
        "P95": p95,
        "P99": p99,
    }


def _counts(comparison: Comparison) -> dict[str, int]:
    return {
        "increases": len(comparison.increases),
        "decreases": len(comparison.decreases),
        "added": len(comparison.added),
        "missing": len(comparison.missing),
        "within_leeway": comparison.within_leeway,
        "unchanged": comparison.unchanged,
    }


_NOTHING = {"increases": 0, "decreases": 0, "added": 0, "missing": 0, "within_leeway": 0, "unchanged": 0}


@pytest.mark.parametrize(
    ("current_p99", "new_p99", "leeway", "expected"),
    [
        pytest.param("10.0", "12.9", 30.0, {"within_leeway": 1}, id="within-leeway"),
        pytest.param("10.0", "13.0", 30.0, {"within_leeway": 1}, id="exactly-leeway-is-within"),
        pytest.param("10.0", "13.1", 30.0, {"increases": 1}, id="over-leeway"),
        pytest.param("10.0", "15.0", 60.0, {"within_leeway": 1}, id="wider-leeway"),
        pytest.param("10.0", "10.0001", 0.0, {"increases": 1}, id="zero-leeway"),
        pytest.param("0.0", "0.5", 30.0, {"increases": 1}, id="from-zero"),
        pytest.param("0.0", "0.0", 30.0, {"unchanged": 1}, id="zero-stays-zero"),
        pytest.param("0.77999999999999536", "0.78", 30.0, {"unchanged": 1}, id="same-value-other-digits"),
        pytest.param("10.0", "9.9", 30.0, {"decreases": 1}, id="small-decrease"),
        pytest.param("10.0", "0.0", 30.0, {"decreases": 1}, id="to-zero"),
    ],
)
def test_p99_change_classification(current_p99: str, new_p99: str, leeway: float, expected: dict[str, int]) -> None:
    comparison = compare([_row(p99=current_p99)], [_row(p99=new_p99)], leeway)
    assert _counts(comparison) == {**_NOTHING, **expected}
    assert needs_review(comparison) == bool(expected.get("increases"))


def test_increase_carries_values_and_percent_changes() -> None:
    comparison = compare([_row(p95="1.0", p99="10.0")], [_row(p95="2.0", p99="15.0")])
    (change,) = comparison.increases
    assert (change.p95, change.p99, change.previous_p95, change.previous_p99) == (2.0, 15.0, 1.0, 10.0)
    assert (change.p95_change, change.p99_change, change.p99_delta) == (100.0, 50.0, 5.0)
    assert change.key == "kube-api-new-connections_4.11_4.12_amd64_aws_ovn_ha"
    assert math.isinf(compare([_row(p99="0.0")], [_row(p99="1.0")]).increases[0].p99_change or 0.0)


def test_added_and_missing_keys() -> None:
    current = [_row(platform="aws"), _row(platform="gcp", p99="7.5")]
    new = [_row(platform="aws"), _row(platform="azure", p99="3.25")]
    comparison = compare(current, new)
    assert [c.key for c in comparison.added] == ["kube-api-new-connections_4.11_4.12_amd64_azure_ovn_ha"]
    assert [c.key for c in comparison.missing] == ["kube-api-new-connections_4.11_4.12_amd64_gcp_ovn_ha"]
    assert (comparison.added[0].p99, comparison.missing[0].p99) == (3.25, 7.5)
    assert comparison.missing[0].previous_p99 is None
    assert needs_review(comparison)
    assert needs_review(compare([_row(platform="aws")], [_row(platform="aws"), _row(platform="gcp")])) is False


@pytest.mark.parametrize(
    ("current_extra", "new_extra", "expected"),
    [
        pytest.param(
            {"MasterNodesUpdated": "Y"}, {"MasterNodesUpdated": "N"}, {"added": 1, "missing": 1}, id="both-sides-keyed"
        ),
        pytest.param({}, {"MasterNodesUpdated": "N"}, {"unchanged": 1}, id="only-new-has-it"),
        pytest.param({"MasterNodesUpdated": None}, {"MasterNodesUpdated": None}, {"unchanged": 1}, id="both-null"),
    ],
)
def test_master_nodes_updated_is_part_of_the_key_when_both_have_it(
    current_extra: dict[str, object], new_extra: dict[str, object], expected: dict[str, int]
) -> None:
    comparison = compare([_row(**current_extra)], [_row(**new_extra)])
    assert _counts(comparison) == {**_NOTHING, **expected}


def _release_rows(release: str, from_release: str, count: int, p99: str = "10.0") -> list[dict[str, object]]:
    return [_row(name=f"backend-{i}", release=release, from_release=from_release, p99=p99) for i in range(count)]


@pytest.mark.parametrize(
    ("new_413_rows", "kwargs", "release", "current_release"),
    [
        pytest.param(3, {}, "4.13", "4.12", id="60-percent-switches"),
        pytest.param(5, {}, "4.13", "4.12", id="more-switches"),
        pytest.param(2, {}, "4.12", "4.12", id="under-60-percent-stays"),
        pytest.param(0, {"target_release": "4.13"}, "4.12", "4.12", id="no-target-data-stays"),
        pytest.param(
            2, {"target_release": "4.13", "previous_release": "4.12"}, "4.12", "4.12", id="explicit-releases-stay"
        ),
        pytest.param(3, {"target_release": "4.12"}, "4.12", "4.12", id="target-is-current"),
    ],
)
def test_release_switch(new_413_rows: int, kwargs: dict[str, str], release: str, current_release: str) -> None:
    current = _release_rows("4.12", "4.11", 5)
    new = _release_rows("4.12", "4.11", 5, p99="11.0") + _release_rows("4.13", "4.12", new_413_rows, p99="12.0")
    comparison = compare(current, new, **kwargs)
    assert (comparison.release, comparison.current_release) == (release, current_release)
    assert comparison.is_release_switch == (release != current_release)
    assert {row["Release"] for row in comparison.output_rows} == {release}
    assert len(comparison.output_rows) == (new_413_rows if release == "4.13" else 5)
    assert comparison.ignored_rows == len(new) - len(comparison.output_rows)


def test_release_switch_shifts_current_rows_to_the_new_release() -> None:
    current = [
        _row(name="minor", release="4.12", from_release="4.11", p99="10.0"),
        _row(name="micro", release="4.12", from_release="4.12", p99="10.0"),
        _row(name="plain", release="4.12", from_release="", p99="10.0"),
        _row(name="gone", release="4.12", from_release="", p99="1.0"),
    ]
    new = [
        _row(name="minor", release="4.13", from_release="4.12", p99="20.0"),
        _row(name="micro", release="4.13", from_release="4.13", p99="5.0"),
        _row(name="plain", release="4.13", from_release="", p99="11.0"),
        _row(name="fresh", release="4.13", from_release="", p99="1.0"),
    ]
    comparison = compare(current, new)
    assert comparison.is_release_switch
    assert [c.key for c in comparison.increases] == ["minor_4.12_4.13_amd64_aws_ovn_ha"]
    assert [c.key for c in comparison.decreases] == ["micro_4.13_4.13_amd64_aws_ovn_ha"]
    assert comparison.within_leeway == 1
    assert [c.key for c in comparison.added] == ["fresh__4.13_amd64_aws_ovn_ha"]
    # Missing keys are shown as the current file holds them.
    assert [c.key for c in comparison.missing] == ["gone__4.12_amd64_aws_ovn_ha"]
    assert "Release switch: the new 4.13 rows are compared with the current 4.12 rows" in render_markdown(comparison)


def test_release_switch_on_the_reference_file() -> None:
    rows = _read(REFERENCE / "backend_query_results_2025-current.json")
    comparison = compare(rows_for_release(rows, "4.19"), rows)
    assert (comparison.target_release, comparison.previous_release) == ("4.20", "4.19")
    assert (comparison.release, comparison.current_release) == ("4.20", "4.19")
    assert (comparison.target_rows, comparison.current_rows) == (3202, 3348)
    assert list(comparison.output_rows) == rows_for_release(rows, "4.20")
    assert sum(_counts(comparison).values()) - len(comparison.missing) == 3202


@pytest.mark.parametrize(
    ("name", "target_release"),
    [
        pytest.param("backend_query_results_2022-12.json", "4.12", id="backend-2022"),
        pytest.param("alerts_query_results_2022-12.json", "4.12", id="alerts-2022"),
        pytest.param("backend_query_results_2022-12.json", None, id="backend-2022-default-target"),
    ],
)
def test_same_file_gives_no_changes_and_the_same_bytes(name: str, target_release: str | None) -> None:
    data = (REFERENCE / name).read_bytes()
    comparison = compare(read_query_results(data, name), read_query_results(data, name), target_release=target_release)
    assert _counts(comparison) == {**_NOTHING, "unchanged": len(comparison.output_rows)}
    assert not needs_review(comparison)
    assert render_query_results(comparison.output_rows) == data


def test_same_current_format_file_gives_no_changes() -> None:
    name = "backend_query_results_2025-current.json"
    data = (REFERENCE / name).read_bytes()
    comparison = compare(read_query_results(data, name), read_query_results(data, name))
    assert comparison.release == comparison.current_release == "4.20"
    assert _counts(comparison) == {**_NOTHING, "unchanged": 3202}
    assert comparison.ignored_rows == 3348
    assert render_markdown(comparison).startswith(
        "**Backend disruption** historical data for **4.20** (P99 leeway 30%): 0 P99 increases over leeway, "
        "0 P99 decreases, 0 added, 0 missing, 0 increases within leeway, 3202 unchanged — **no review needed**.\n"
    )


def test_fixture_comparison_report_and_output() -> None:
    comparison = compare(_read(FIXTURES / "compare_current.json"), _read(FIXTURES / "compare_new.json"))
    assert (comparison.target_release, comparison.release) == ("4.13", "4.12")
    assert render_query_results(comparison.output_rows) == (FIXTURES / "compare_expected_output.json").read_bytes()
    assert render_markdown(comparison) == (FIXTURES / "compare_report.md").read_text(encoding="utf-8")
    assert needs_review(comparison)


@pytest.mark.parametrize(
    ("current", "new", "leeway", "error", "message"),
    [
        pytest.param(
            [_row()],
            [_row()],
            -5.0,
            ConfigError,
            "leeway -5.0 is not a percentage ≥ 0; pass e.g. --leeway 30",
            id="negative-leeway",
        ),
        pytest.param(
            [_row()],
            [_row()],
            math.nan,
            ConfigError,
            "leeway nan is not a percentage ≥ 0; pass e.g. --leeway 30",
            id="nan-leeway",
        ),
        pytest.param(
            [_row()],
            [{("AlertName" if k == "BackendName" else k): v for k, v in _row().items()}],
            30.0,
            InputError,
            "current rows are keyed by BackendName but new rows by AlertName; "
            "compare alerts with alerts and backends with backends",
            id="mixed-kinds",
        ),
        pytest.param(
            [],
            [_row(), {("AlertName" if k == "BackendName" else k): v for k, v in _row().items()}],
            30.0,
            InputError,
            "new rows mix the name columns AlertName, BackendName",
            id="mixed-within-side",
        ),
        pytest.param(
            [_row()],
            [_row(), _row(p99="2.0")],
            30.0,
            InputError,
            "new data has the key kube-api-new-connections_4.11_4.12_amd64_aws_ovn_ha twice",
            id="duplicate-key",
        ),
        pytest.param(
            [_row()],
            [{k: v for k, v in _row().items() if k != "P99"}],
            30.0,
            InputError,
            "new row 0: missing column P99",
            id="bad-new-row",
        ),
        pytest.param(
            [_row(p95="soon")],
            [_row()],
            30.0,
            InputError,
            "current row 0: P95: percentile 'soon' is not a number",
            id="bad-current-row",
        ),
    ],
)
def test_compare_rejects(
    current: list[dict[str, object]], new: list[dict[str, object]], leeway: float, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        compare(current, new, leeway)
    assert str(raised.value) == message


def _alert_rows(count: int, p99: float, name_length: int) -> list[dict[str, object]]:
    return [
        {
            "AlertName": f"Alert{i:05d}".ljust(name_length, "x"),
            "Release": "4.12",
            "FromRelease": "4.11",
            "Platform": "aws",
            "Architecture": "amd64",
            "Network": "ovn",
            "Topology": "ha",
            "JobRuns": 100 + i,
            "P95": "1.0",
            "P99": str(p99 + i),
        }
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("name_length", "max_rows", "rows_shown"),
    [
        pytest.param(30, 50, 200, id="typical-names"),
        # 10 000 per section halves to 78, the first cap whose report fits in 60 000 characters.
        pytest.param(30, 10_000, 4 * 78, id="oversized-cap-halves-until-it-fits"),
        pytest.param(400, 50, 100, id="long-names-shrink-the-sections"),
        pytest.param(20_000, 50, 0, id="huge-names-leave-counts-only"),
    ],
)
def test_report_stays_under_the_github_limit_at_scale(name_length: int, max_rows: int, rows_shown: int) -> None:
    current = _alert_rows(4000, 10.0, name_length)
    new = _alert_rows(4000, 10.0, name_length)
    for row in new[:1500]:
        row["P99"] = str(float(str(row["P99"])) * 2)  # increases
    for row in new[1500:3000]:
        row["P99"] = str(float(str(row["P99"])) / 2)  # decreases
    new = new[:3500] + [{**row, "Platform": "gcp"} for row in new[3500:]]  # 500 added, 500 missing
    comparison = compare(current, new)
    assert _counts(comparison) == {
        **_NOTHING,
        "increases": 1500,
        "decreases": 1500,
        "added": 500,
        "missing": 500,
        "unchanged": 500,
    }
    report = render_markdown(comparison, max_rows=max_rows)
    assert len(report) < GITHUB_BODY_LIMIT
    assert report.startswith("**Alert** historical data for **4.12**")
    shown = re.findall(r"^\| Alert", report, flags=re.MULTILINE)
    hidden = sum(
        int(n) for n in re.findall(r"^… and (\d+) more; the output file has every row\.$", report, flags=re.MULTILINE)
    )
    assert (len(shown), hidden) == (rows_shown, 4000 - rows_shown)
    for title in (
        "P99 increases over the 30% leeway (1500)",
        "P99 decreases (1500)",
        "Added: no current data (500)",
        "Missing: no new data, current values shown (500)",
    ):
        assert f"<summary>{title}</summary>" in report


def test_report_lists_the_largest_changes_first() -> None:
    current = [_row(name=f"b{i}", p99="10.0") for i in range(5)]
    new = [_row(name=f"b{i}", p99=str(20.0 + i)) for i in range(5)]
    report = render_markdown(compare(current, new), max_rows=2)
    assert re.findall(r"^\| (b\d) ", report, flags=re.MULTILINE) == ["b4", "b3"]
    assert "… and 3 more; the output file has every row." in report


def test_report_escapes_table_cells() -> None:
    report = render_markdown(compare([], [_row(name="a|b")]))
    assert "| a\\|b | 4.12 | 4.11 | amd64 | ovn | aws | ha | 100 | 1 | new | 10 | new |" in report


def test_default_leeway() -> None:
    assert DEFAULT_LEEWAY_PERCENT == 30.0
    assert compare([_row()], [_row()]).leeway == 30.0
