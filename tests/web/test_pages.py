"""The pure page builders: heat-map layout, percentiles, day filling, run links."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from job_run_aggregator.web import pages
from job_run_aggregator.web.queries import Cell


def row(backend: str, release: str, from_release: str, platform: str, runs: int, p99: float) -> dict:
    return {"BackendName": backend, "Release": release, "FromRelease": from_release, "Platform": platform,
            "Architecture": "amd64", "Network": "ovn", "Topology": "ha", "JobRuns": runs, "P95": p99 / 2,
            "P99": p99}


@pytest.mark.parametrize(("p99", "level"), [
    pytest.param(None, 0, id="null"),
    pytest.param(0.0, 0, id="zero"),
    pytest.param(0.5, 1, id="under-1s"),
    pytest.param(1.0, 1, id="exactly-1s"),
    pytest.param(5.68, 3, id="seconds"),
    pytest.param(300.0, 7, id="five-minutes"),
    pytest.param(453.2, 8, id="over-five-minutes"),
])
def test_heat_level(p99: float | None, level: int) -> None:
    assert pages.heat_level(p99) == level
    assert len(pages.heat_legend()) == len(pages.HEAT_STEPS) + 1


def test_heat_map_orders_worst_first_ignoring_greyed_cells() -> None:
    rows = [
        row("kube-api", "4.14", "", "aws", 150, 3.0),
        row("oauth-api", "4.14", "", "aws", 150, 9.0),
        row("oauth-api", "4.14", "4.13", "gcp", 150, 1.0),
        row("kube-api", "4.14", "4.13", "gcp", 10, 900.0),  # huge but too few runs: greyed, ordered last
    ]
    heat = pages.build_heat_map(rows, 100, "all", lambda c: f"/cell?b={c.backend}&v={'|'.join(c.variant)}")
    assert heat["backends"] == ["oauth-api", "kube-api"]
    assert [v["key"] for v in heat["variants"]] == ["4.14||aws|amd64|ovn|ha", "4.14|4.13|gcp|amd64|ovn|ha"]
    assert heat["variants"][1]["label"] == "4.14 from 4.13 · gcp amd64 ovn ha"
    assert [c["P99"] for c in heat["worst"]] == [9.0, 3.0, 1.0]
    assert heat["greyed_cells"] == 1
    greyed = next(c for c in heat["cells"] if c["greyed"])
    assert greyed["href"] == "/cell?b=kube-api&v=4.14|4.13|gcp|amd64|ovn|ha"
    grid = pages.heat_grid(heat)
    assert [[c and c["P99"] for c in r["cells"]] for r in grid] == [[9.0, 1.0], [3.0, 900.0]]


@pytest.mark.parametrize(("upgrade", "expected"), [
    pytest.param("all", {"", "4.13"}, id="all"),
    pytest.param("upgrade", {"4.13"}, id="upgrade"),
    pytest.param("non-upgrade", {""}, id="non-upgrade"),
])
def test_heat_map_upgrade_filter(upgrade: str, expected: set[str]) -> None:
    rows = [row("a", "4.14", "", "aws", 200, 1.0), row("a", "4.14", "4.13", "aws", 200, 2.0)]
    heat = pages.build_heat_map(rows, 100, upgrade, lambda c: "")
    assert {c["FromRelease"] for c in heat["cells"]} == expected


@pytest.mark.parametrize("values", [
    pytest.param([5.0], id="one"),
    pytest.param([0, 0, 0, 1, 120], id="mostly-zero"),
    pytest.param(list(range(1, 118)), id="117-runs"),
    pytest.param([3, 1, 4, 1, 5, 9, 2, 6], id="unsorted-input-sorted-first"),
])
def test_percentile_is_numpy_linear(values: list[float]) -> None:
    ordered = sorted(float(v) for v in values)
    for fraction in (0.25, 0.5, 0.95, 0.99):
        assert pages.percentile(ordered, fraction) == pytest.approx(np.percentile(values, fraction * 100))
    summary = pages.summarise_runs(values)
    assert (summary["count"], summary["min"], summary["max"]) == (len(values), min(values), max(values))


def test_summary_of_no_runs() -> None:
    assert pages.summarise_runs([])["p99"] is None
    assert pages.percentile([], 0.5) is None


def test_fill_days_covers_the_window_with_gaps() -> None:
    start = datetime(2024, 6, 1, 12, tzinfo=UTC)
    end = datetime(2024, 6, 4, 12, tzinfo=UTC)
    rows = [{"Day": date(2024, 6, 2), "JobRuns": 3, "P50": 1, "P95": 2.5, "P99": 2.9}]
    days = pages.fill_days(rows, start, end)
    assert [d["day"] for d in days] == ["2024-06-01", "2024-06-02", "2024-06-03", "2024-06-04"]
    assert days[1] == {"day": "2024-06-02", "JobRuns": 3, "P50": 1.0, "P95": 2.5, "P99": 2.9}
    assert days[0] == {"day": "2024-06-01", "JobRuns": 0, "P50": None, "P95": None, "P99": None}


def test_fill_days_stops_before_a_midnight_end() -> None:
    days = pages.fill_days([], datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 3, tzinfo=UTC))
    assert [d["day"] for d in days] == ["2024-06-01", "2024-06-02"]


@pytest.mark.parametrize(("bucket", "job", "folder", "prow"), [
    pytest.param("gs://test-platform-results", "periodic-ci-a-4.14-e2e-aws", "https://console.cloud.google.com/"
                 "storage/browser/test-platform-results/logs/periodic-ci-a-4.14-e2e-aws/1789",
                 "https://prow.ci.openshift.org/view/gs/test-platform-results/logs/periodic-ci-a-4.14-e2e-aws/1789",
                 id="gcs"),
    pytest.param("gs://origin-ci-test/", "job", "https://console.cloud.google.com/storage/browser/origin-ci-test/"
                 "logs/job/1789", "https://prow.ci.openshift.org/view/gs/origin-ci-test/logs/job/1789",
                 id="gcs-trailing-slash"),
    pytest.param("./ci-artifacts", "periodic-ci-a-4.14-e2e-aws", "/bucket/logs/periodic-ci-a-4.14-e2e-aws/1789/",
                 None, id="local"),
    pytest.param("./ci-artifacts", "a/../<script>", "/bucket/logs/a%2F..%2F%3Cscript%3E/1789/", None,
                 id="hostile-name-quoted"),
])
def test_run_links(bucket: str, job: str, folder: str, prow: str | None) -> None:
    assert pages.run_links(bucket, job, "1789") == {"folder": folder, "prow": prow}


@pytest.mark.parametrize(("value", "text"), [
    pytest.param(None, "", id="none"),
    pytest.param(0.0, "0.0", id="zero"),
    pytest.param(5.6799999999999908, "5.7", id="small"),
    pytest.param(453.2, "453", id="large"),
])
def test_format_seconds(value: float | None, text: str) -> None:
    assert pages.format_seconds(value) == text


def test_cell_matches_export_rows_and_builds_parameters() -> None:
    cell = Cell("kube-api", ("4.14", "", "aws", "amd64", "ovn", "ha"))
    assert cell.matches(row("kube-api", "4.14", "", "aws", 1, 1.0))
    assert not cell.matches(row("kube-api", "4.14", "4.13", "aws", 1, 1.0))
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 22, tzinfo=UTC)
    assert cell.params(start, end) == {"start": start, "end": end, "backend": "kube-api", "release": "4.14",
                                       "from_release": "", "platform": "aws", "architecture": "amd64",
                                       "network": "ovn", "topology": "ha"}


def test_heat_map_marks_pooled_cells_and_offers_per_architecture_values() -> None:
    amd = row("kube-api", "4.14", "", "aws", 150, 142.0)
    arm = dict(amd, Architecture="arm64", JobRuns=120)  # the export gives arm64 the pooled value
    alone = row("kube-api", "4.14", "", "gcp", 150, 5.0)
    own = [dict(amd, P99=100.0), dict(arm, P99=286.0), alone]
    heat = pages.build_heat_map([amd, arm, alone], 100, "all", lambda c: "", arch_rows=own)
    by = {(c["Platform"], c["Architecture"]): c for c in heat["cells"]}
    assert by[("aws", "arm64")]["pooled"] and by[("aws", "amd64")]["pooled"] and not by[("gcp", "amd64")]["pooled"]
    assert by[("aws", "arm64")]["pooled_runs"] == 270 and by[("gcp", "amd64")]["pooled_runs"] == 150
    assert (by[("aws", "arm64")]["P99"], by[("aws", "arm64")]["arch_P99"]) == (142.0, 286.0)
    assert heat["pooled_cells"] == 2
    per_arch = pages.build_heat_map([amd, arm, alone], 100, "all", lambda c: "", arch_rows=own,
                                    values="architecture")
    assert per_arch["worst"][0]["Architecture"] == "arm64" and per_arch["worst"][0]["shown_P99"] == 286.0


def test_heat_map_greyed_cells_keep_their_value_and_colour() -> None:
    heat = pages.build_heat_map([row("kube-api", "4.14", "", "aws", 12, 240.0)], 100, "all", lambda c: "")
    (cell,) = heat["cells"]
    assert cell["greyed"] and cell["shown_P99"] == 240.0 and cell["level"] == pages.heat_level(240.0)


@pytest.mark.parametrize(("old", "new", "change"), [
    pytest.param(10.0, 14.0, "worse", id="rise-over-leeway"),
    pytest.param(10.0, 12.0, "", id="rise-within-leeway"),
    pytest.param(0.2, 0.9, "", id="tiny-rise-under-a-second"),
    pytest.param(10.0, 5.0, "better", id="fall"),
    pytest.param(None, 5.0, "new", id="no-previous"),
])
def test_what_got_worse(old: float | None, new: float, change: str) -> None:
    baseline = [] if old is None else [row("kube-api", "4.14", "", "aws", 150, old)]
    baseline = [dict(r, P99=str(r["P99"])) for r in baseline]  # a query_results.json holds text
    heat = pages.build_heat_map([row("kube-api", "4.14", "", "aws", 150, new)], 100, "all", lambda c: "",
                                baseline=baseline, leeway=30.0)
    assert heat["cells"][0]["change"] == change
    assert [c["P99"] for c in heat["worse"]] == ([new] if change == "worse" else [])


def test_filters_and_search_narrow_the_cells_and_keep_every_choice() -> None:
    rows = [row("kube-api", "4.14", "", "aws", 150, 1.0), row("oauth-api", "4.14", "", "gcp", 150, 2.0)]
    heat = pages.build_heat_map(rows, 100, "all", lambda c: "", filters={"platform": "gcp"}, search="OAUTH")
    assert [c["BackendName"] for c in heat["cells"]] == ["oauth-api"]
    assert heat["choices"]["platform"] == ["aws", "gcp"]
    assert pages.build_heat_map(rows, 100, "all", lambda c: "", search="nothing")["cells"] == []


def test_rolling_days_pool_the_runs_of_the_window() -> None:
    start, end = datetime(2024, 6, 3, tzinfo=UTC), datetime(2024, 6, 5, tzinfo=UTC)
    runs = [{"StartTime": datetime(2024, 6, d, 5, tzinfo=UTC), "Seconds": s}
            for d, s in ((1, 10), (2, 20), (3, 30), (4, 40))]
    days = pages.rolling_days(runs, start, end, 3)
    assert [(d["day"], d["JobRuns"], d["window_runs"]) for d in days] == [("2024-06-03", 1, 3), ("2024-06-04", 1, 3)]
    assert days[1]["P50"] == 30.0 and days[0]["P99"] == pytest.approx(np.percentile([10, 20, 30], 99))
