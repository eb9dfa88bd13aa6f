"""The small value types every stage shares: Release, DataKind, RunStatus and the seconds formatter."""

from __future__ import annotations

import math

import pytest

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.model import (
    ALERT_DATA,
    DISRUPTION_DATA,
    Release,
    RunStatus,
    data_kind,
    format_seconds,
    release_order,
)


@pytest.mark.parametrize(
    ("text", "leading", "expected"),
    [
        pytest.param("4.14", False, Release(4, 14), id="plain"),
        pytest.param("4.08", False, Release(4, 8), id="padded-minor"),
        pytest.param("10.0", False, Release(10, 0), id="two-digit-major"),
        pytest.param("4.12.3", False, None, id="three-fields-strict"),
        pytest.param("4.12.3", True, Release(4, 12), id="three-fields-go"),
        pytest.param("4.12.x", True, Release(4, 12), id="go-reads-two-fields-only"),
        pytest.param("4", True, None, id="one-field"),
        pytest.param("4.x", True, None, id="letters"),
        pytest.param("", False, None, id="empty"),
        pytest.param("main", False, None, id="branch-name"),
        pytest.param("-4.1", False, None, id="sign"),
        pytest.param("4. 1", False, None, id="space"),
        pytest.param("٤.١٤", False, None, id="non-ascii-digits"),
        pytest.param("4.²", False, None, id="superscript-digit"),
    ],
)
def test_release_parse(text: str, leading: bool, expected: Release | None) -> None:
    assert Release.parse(text, leading=leading) == expected


def test_releases_order_numerically_and_shift() -> None:
    assert sorted(map(Release.parse, ["4.10", "4.9", "5.0", "4.14"])) == [
        Release(4, 9), Release(4, 10), Release(4, 14), Release(5, 0)]
    assert str(Release(4, 9).shifted(1)) == "4.10"
    assert Release(4, 0).shifted(-1) is None
    assert sorted(["4.9", "main", "4.10", "", "3.11"], key=release_order) == ["", "main", "3.11", "4.9", "4.10"]


def test_data_kinds_carry_their_names_and_refuse_others() -> None:
    assert data_kind("disruptions") is DISRUPTION_DATA and data_kind("alerts") is ALERT_DATA
    assert (DISRUPTION_DATA.table, DISRUPTION_DATA.name_column, DISRUPTION_DATA.export_file) == (
        "BackendDisruption", "BackendName", "backend_query_results.json")
    assert (ALERT_DATA.marker_table, ALERT_DATA.default_days, ALERT_DATA.default_min_job_runs) == (
        "Alerts_JobRuns", 7, 0)
    with pytest.raises(ConfigError, match=r"^--data-type 'backends': choose disruptions or alerts$"):
        data_kind("backends")


def test_run_status_is_its_text() -> None:
    assert RunStatus.LOADED == "loaded" and f"{RunStatus.FAILED}" == "failed"


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        pytest.param(12.0, {}, "12s", id="whole"),
        pytest.param(2.5, {}, "2.5s", id="one-place"),
        pytest.param(0.354, {}, "0.35s", id="two-places"),
        pytest.param(-0.001, {}, "0s", id="negative-zero"),
        pytest.param(math.nan, {}, "NaN", id="nan"),
        pytest.param(2.718, {"places": 3}, "2.718s", id="verdict-millis"),
        pytest.param(983.4, {"unit": ""}, "983.4", id="report-no-unit"),
        pytest.param(2.0, {"places": 1, "unit": "", "trim": False}, "2.0", id="table-cell-fixed"),
        pytest.param(185.2, {"places": 0, "unit": "", "trim": False}, "185", id="table-cell-whole"),
    ],
)
def test_format_seconds(value: float, kwargs: dict[str, object], expected: str) -> None:
    assert format_seconds(value, **kwargs) == expected
