"""Every era's query_results.json format by name (v1…v3, a1…a4), several releases per file, and a3/a4 round trips."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.history.compare import compare_releases, render_releases_markdown
from job_run_aggregator.history.formats import FORMATS, format_of_rows
from job_run_aggregator.history.percentiles import format_observed
from job_run_aggregator.history.results_file import read_query_results, render_query_results
from job_run_aggregator.warehouse.base import open_warehouse

EXPECTED = Path(__file__).parent / "expected"
NOW = "2026-11-28T00:00:00"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("backend_query_results_2022-12.json", "v1", id="backend-2022"),
        pytest.param("backend_query_results_2025-current.json", "v3", id="backend-2025"),
        pytest.param("alerts_query_results_2022-12.json", "a1", id="alerts-2022"),
    ],
)
def test_reference_files_are_told_apart(reference: Path, name: str, expected: str) -> None:
    path = reference / name
    assert format_of_rows(read_query_results(path.read_bytes(), str(path)), str(path)).name == expected


@pytest.mark.parametrize("name", ["alerts_query_results_a3.json", "alerts_query_results_a4.json"])
def test_hand_written_alert_files_are_a3_a4_and_round_trip(name: str) -> None:
    data = (EXPECTED / name).read_bytes()
    rows = read_query_results(data, name)
    assert format_of_rows(rows, name).name == name[-7:-5]
    assert render_query_results(list(reversed(rows))) == data  # origin's order whatever the order given


def test_several_releases_keep_origins_interleaved_order(reference: Path) -> None:
    """The 2025 file holds 4.19 and 4.20 rows sorted by the key string, so the two releases interleave."""
    data = (reference / "backend_query_results_2025-current.json").read_bytes()
    rows = read_query_results(data, "2025")
    by_release = sorted(rows, key=lambda r: str(r["Release"]))
    assert render_query_results(by_release) == data


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param([], "f.json: holds no rows, so its format cannot be told; pass --format", id="empty"),
        pytest.param(
            [{"AlertName": "a", "Release": "4.1"}],
            "f.json: columns AlertName, Release are none of the formats v1, v2, v3, a1, a2, a3, a4",
            id="unknown-columns",
        ),
        pytest.param(
            [dict.fromkeys(FORMATS["v1"].columns, ""), dict.fromkeys(FORMATS["v2"].columns, "")],
            "f.json: row 1 has the columns " + ", ".join(FORMATS["v2"].columns) + ", row 0 has "
            + ", ".join(FORMATS["v1"].columns),
            id="mixed-rows",
        ),
    ],
)
def test_format_of_rows_rejects(rows: list[dict[str, object]], message: str) -> None:
    with pytest.raises(InputError) as caught:
        format_of_rows(rows, "f.json")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param("2024-06-07T05:02:06+00:00", "2024-06-07T05:02:06Z", id="whole-seconds"),
        pytest.param("2024-06-07T07:02:06+02:00", "2024-06-07T05:02:06Z", id="to-utc"),
        pytest.param("2024-06-07T05:02:06.120000+00:00", "2024-06-07T05:02:06.12Z", id="fraction-trimmed"),
    ],
)
def test_format_observed(moment: str, text: str) -> None:
    from datetime import datetime

    assert format_observed(datetime.fromisoformat(moment)) == text


@pytest.fixture
def alert_table(warehouse_url: str, tables) -> str:
    """Hand-computable alerts: the a3/a4 expected files were written from it by hand."""
    a = tables.job("4.15/- aws amd64 ovn ha")
    b = tables.job("4.16/- aws amd64 ovn ha")
    day = timedelta(days=1)
    tables.alert_run(a, [("etcdMembersDown", "openshift-etcd", "Critical", 20),
                         ("etcdMembersDown", "openshift-etcd", "Warning", 10)], start=tables.now - day)
    # 0 s: injected for a known alert that did not fire; counts for the percentiles, not as an observation.
    tables.alert_run(a, [("etcdMembersDown", "openshift-etcd", "Critical", 0),
                         ("etcdMembersDown", "openshift-etcd", "Warning", 10)], start=tables.now - 2 * day)
    # Outside the 7-day window: no percentile, but the first observation of the Warning.
    tables.alert_run(a, [("etcdMembersDown", "openshift-etcd", "Warning", 3)], start=tables.now - 10 * day)
    tables.alert_run(b, [("KubeClientErrors", "openshift-kube-apiserver", "Warning", 0)], start=tables.now - day)
    tables.alert_run(b, [("etcdMembersDown", "openshift-etcd", "Critical", 20)], start=tables.now - 3 * day)
    wh = open_warehouse(warehouse_url)
    try:
        tables.load(wh)
    finally:
        wh.close()
    return warehouse_url


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["--format", "a4", "--release", "4.15", "--release", "4.16"], "alerts_query_results_a4.json",
                     id="a4-two-releases"),
        pytest.param(["--format", "a3", "--release", "4.15"], "alerts_query_results_a3.json", id="a3"),
        pytest.param(["--format", "auto", "--like", str(EXPECTED / "alerts_query_results_a4.json")],
                     "alerts_query_results_a4.json", id="auto-like-a4-its-releases"),
    ],
)
def test_export_alert_formats(alert_table: str, tmp_path: Path, args: list[str], expected: str) -> None:
    out = tmp_path / "out.json"
    result = run("--warehouse", alert_table, "export-historical-data", "--now", NOW, *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (EXPECTED / expected).read_bytes()


def test_a4_round_trips_through_analyze_per_release(alert_table: str, tmp_path: Path) -> None:
    committed = EXPECTED / "alerts_query_results_a4.json"
    out, report = tmp_path / "out.json", tmp_path / "pr.md"
    result = run("--warehouse", alert_table, "analyze-historical-data", "--current", str(committed),
                 "--format", "auto", "--release", "current", "--now", NOW, "--output-file", str(out),
                 "--pr-message", str(report))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == committed.read_bytes()
    text = report.read_text()
    assert text.startswith("### Alert 4.15\n\n**Alert** historical data for **4.15**")
    assert "### Alert 4.16\n\n**Alert** historical data for **4.16**" in text
    assert "2 unchanged" in text and "no review needed" in text


def test_a3_compare_keys_by_namespace_and_level() -> None:
    current = read_query_results((EXPECTED / "alerts_query_results_a3.json").read_bytes(), "a3")
    new = [dict(row) for row in current]
    new[0]["P99"] = "40.0"  # the Critical row only; the Warning row of the same alert is unchanged
    new.append({**new[1], "AlertLevel": "Info"})
    result = compare_releases(current, new, ["4.15"])
    (comparison,) = result.comparisons
    assert [c.key for c in comparison.increases] == ["etcdMembersDown_openshift-etcd_Critical__4.15_amd64_aws_ovn_ha"]
    assert [c.key for c in comparison.added] == ["etcdMembersDown_openshift-etcd_Info__4.15_amd64_aws_ovn_ha"]
    assert comparison.unchanged == 1
    markdown = render_releases_markdown(result)
    assert "| etcdMembersDown (openshift-etcd, Critical) | 4.15 |" in markdown


def test_compare_releases_names_the_release_of_every_table(reference: Path) -> None:
    rows = read_query_results((reference / "backend_query_results_2025-current.json").read_bytes(), "2025")
    new = [dict(r) for r in rows]
    for r in new:
        if r["Release"] == "4.20" and r["BackendName"] == "kube-api-new-connections":
            r["P99"] = "999.0"
    result = compare_releases(rows, new, ["4.19", "4.20"])
    assert [c.release for c in result.comparisons] == ["4.19", "4.20"]
    assert not result.comparisons[0].increases and result.comparisons[1].increases
    markdown = render_releases_markdown(result)
    assert "<summary>4.20: P99 increases over the 30% leeway" in markdown
    assert "<summary>4.19: P99 increases" not in markdown
    assert len(markdown) <= 60_000
    unchanged = compare_releases(rows, rows, ["4.19", "4.20"])
    data = (reference / "backend_query_results_2025-current.json").read_bytes()
    assert render_query_results(list(unchanged.output_rows)) == data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--format", "a4", "--percentiles", "50,95,99", "--release", "4.15"],
                     "error: --format fixes the columns; drop --percentiles and --split-master-nodes-updated",
                     id="format-and-percentiles"),
        pytest.param(["--format", "v9", "--release", "4.15"],
                     "error: --format 'v9': choose one of v1, v2, v3, a1, a2, a3, a4, auto", id="unknown-format"),
        pytest.param(["--format", "auto", "--release", "4.15"],
                     "error: --format auto copies the format of --like FILE; give --like (e.g. the committed file)",
                     id="auto-without-like"),
        pytest.param(["--format", "a4", "--data-type", "disruptions", "--release", "4.15"],
                     "error: --format a4 holds alerts, not disruptions; pass --data-type alerts or a format of "
                     "disruptions", id="format-of-other-type"),
        pytest.param(["--format", "v3"],
                     "error: give --release (repeatable), or --like FILE to export the releases that file holds",
                     id="no-release"),
    ],
)
def test_export_format_errors(duckdb_url: str, args: list[str], message: str) -> None:
    result = run("--warehouse", duckdb_url, "export-historical-data", *args)
    assert result.exit_code == ConfigError.exit_code, result.output
    assert message in result.stderr


def test_auto_on_an_empty_like_file_says_to_pass_format(duckdb_url: str, tmp_path: Path) -> None:
    like = tmp_path / "empty.json"
    like.write_text("[]")
    result = run("--warehouse", duckdb_url, "export-historical-data", "--format", "auto", "--like", str(like),
                 "--release", "4.15")
    assert result.exit_code == InputError.exit_code, result.output
    assert f"error: {like}: holds no rows, so its format cannot be told; pass --format" in result.stderr


def test_v1_to_v3_exports_have_their_columns(duckdb_url: str, tables, tmp_path: Path) -> None:
    job = tables.job("4.15/- aws amd64 ovn ha")
    tables.disruption(job, "kube-api-new-connections", [0, 20], masters="N")
    wh = open_warehouse(duckdb_url)
    try:
        tables.load(wh)
    finally:
        wh.close()
    for name in ("v1", "v2", "v3"):
        out = tmp_path / f"{name}.json"
        result = run("--warehouse", duckdb_url, "export-historical-data", "--format", name, "--release", "4.15",
                     "--min-job-runs", "1", "--now", NOW, "--out", str(out))
        assert result.exit_code == 0, result.output
        (row,) = json.loads(out.read_bytes())
        assert tuple(row) == FORMATS[name].columns
        assert row["P99"] == "19.8"


def test_analyze_refuses_a_data_type_the_current_files_format_does_not_hold(duckdb_url: str) -> None:
    result = run("--warehouse", duckdb_url, "analyze-historical-data", "--current",
                 str(EXPECTED / "alerts_query_results_a4.json"), "--format", "auto", "--data-type", "disruptions")
    assert result.exit_code == ConfigError.exit_code, result.output
    assert ("error: --format a4 holds alerts, not disruptions; pass --data-type alerts or a format of disruptions"
            in result.stderr)


def test_the_matcher_reads_the_a4_file_by_namespace_and_level() -> None:
    from job_run_aggregator.matching.keys import JobType
    from job_run_aggregator.matching.matcher import load_historical

    data = load_historical((EXPECTED / "alerts_query_results_a4.json").read_bytes(), "a4.json")
    assert data.has_alert_scope
    job_type = JobType("4.15", "", "aws", "amd64", "ovn", "ha")
    critical = data.best_match("etcdMembersDown", job_type, min_job_runs=1, namespace="openshift-etcd",
                               level="Critical")
    warning = data.best_match("etcdMembersDown", job_type, min_job_runs=1, namespace="openshift-etcd",
                              level="Warning")
    assert (critical.p99, warning.p99) == (19.8, 10.0)
