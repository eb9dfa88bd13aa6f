"""The pure page builders: heat-map layout, percentiles, day filling, run links."""

from __future__ import annotations

from datetime import date, datetime, timezone

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
    start = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
    end = datetime(2024, 6, 4, 12, tzinfo=timezone.utc)
    rows = [{"Day": date(2024, 6, 2), "JobRuns": 3, "P50": 1, "P95": 2.5, "P99": 2.9}]
    days = pages.fill_days(rows, start, end)
    assert [d["day"] for d in days] == ["2024-06-01", "2024-06-02", "2024-06-03", "2024-06-04"]
    assert days[1] == {"day": "2024-06-02", "JobRuns": 3, "P50": 1.0, "P95": 2.5, "P99": 2.9}
    assert days[0] == {"day": "2024-06-01", "JobRuns": 0, "P50": None, "P95": None, "P99": None}


def test_fill_days_stops_before_a_midnight_end() -> None:
    days = pages.fill_days([], datetime(2024, 6, 1, tzinfo=timezone.utc), datetime(2024, 6, 3, tzinfo=timezone.utc))
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
    start, end = datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 22, tzinfo=timezone.utc)
    assert cell.params(start, end) == {"start": start, "end": end, "backend": "kube-api", "release": "4.14",
                                       "from_release": "", "platform": "aws", "architecture": "amd64",
                                       "network": "ovn", "topology": "ha"}
