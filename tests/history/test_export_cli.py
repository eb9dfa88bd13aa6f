"""export-historical-data: a known table in, origin's query_results.json out, byte for byte (DESIGN §7)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.warehouse.base import open_warehouse

EXPECTED = Path(__file__).parent / "expected"
NOW = "2026-11-28T00:00:00"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def known_table(warehouse_url: str, tables) -> str:
    """Small, hand-computable data: the expected files were written from it by hand."""
    upgrade_amd64 = tables.job("4.14/4.14 aws amd64 ovn ha")
    upgrade_arm64 = tables.job("4.14/4.14 aws arm64 ovn ha")  # shares amd64's percentiles: the real query's quirk
    gcp = tables.job("4.14/- gcp amd64 sdn ha")
    older = tables.job("4.13/- aws amd64 ovn ha")  # another release: not in a 4.14 export
    tables.disruption(upgrade_amd64, "kube-api-new-connections", [0, 3])
    tables.disruption(upgrade_amd64, "ingress-to-console-new-connections", [4, 4])
    tables.disruption(upgrade_arm64, "kube-api-new-connections", [1])
    tables.disruption(upgrade_arm64, "ingress-to-console-new-connections", [4])
    tables.disruption(gcp, "kube-api-new-connections", [0, 3])  # 0.95 × 3 is 2.8499999999999996 in binary
    tables.disruption(gcp, "ingress-to-console-new-connections", [1, 2, 10])
    tables.disruption(gcp, "cache-kube-api-new-connections", [0, 0])
    tables.disruption(older, "kube-api-new-connections", [50, 60])
    for etcd in ([("openshift-etcd", "Warning", 0)],
                 [("openshift-etcd", "Warning", 1), ("openshift-etcd", "Critical", 3)],  # one run: 1 + 3 s
                 [("openshift-etcd", "Warning", 8)]):
        rows = [("etcdMembersDown", namespace, level, seconds) for namespace, level, seconds in etcd]
        tables.alert_run(upgrade_amd64, [*rows, ("KubeClientErrors", "openshift-kube-apiserver", "Warning", 5)])
    tables.alert_run(older, [("etcdMembersDown", "openshift-etcd", "Warning", 99)])
    tables.alert_run(upgrade_amd64, [("etcdMembersDown", "openshift-etcd", "Warning", 99)],
                     start=tables.now - timedelta(days=7, seconds=1))  # outside the alerts' 7-day window
    wh = open_warehouse(warehouse_url)
    try:
        tables.load(wh)
    finally:
        wh.close()
    return warehouse_url


@pytest.mark.parametrize(
    ("data_type", "extra", "expected", "rows"),
    [
        pytest.param("disruptions", ["--min-job-runs", "1"], "backend_query_results.json", 7, id="disruptions"),
        pytest.param("alerts", [], "alerts_query_results.json", 2, id="alerts"),
    ],
)
def test_export_equals_the_hand_written_file(known_table: str, tmp_path: Path, data_type: str, extra: list[str],
                                             expected: str, rows: int) -> None:
    want = (EXPECTED / expected).read_bytes()
    out = tmp_path / "out.json"
    args = ["--warehouse", known_table, "export-historical-data", "--data-type", data_type, "--release", "4.14",
            "--now", NOW, *extra]
    to_file = run(*args, "--out", str(out))
    assert to_file.exit_code == 0, to_file.output
    assert out.read_bytes() == want
    assert to_file.stdout == ""
    assert f"wrote {rows} {data_type} rows for 4.14 to {out}" in to_file.stderr
    to_stdout = run(*args)
    assert to_stdout.exit_code == 0, to_stdout.output
    assert to_stdout.stdout_bytes == want


def test_export_of_a_release_without_rows_is_an_empty_array(known_table: str) -> None:
    result = run("--warehouse", known_table, "export-historical-data", "--release", "4.15", "--now", NOW,
                 "--min-job-runs", "1")
    assert result.exit_code == 0
    assert result.stdout_bytes == b"[]"
    assert "warning: no disruptions rows for release 4.15 in the window" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--data-type", "tests"], "error: --data-type 'tests': choose disruptions or alerts",
                     id="data-type"),
        pytest.param(["--percentiles", "50,75"],
                     "error: --percentiles '50,75': must include 95 and 99 (origin's files always carry them)",
                     id="percentiles-without-95-99"),
        pytest.param(["--percentiles", "p95"],
                     "error: --percentiles 'p95': give integers between 1 and 99, e.g. 50,75,95,99",
                     id="percentiles-not-numbers"),
    ],
)
def test_bad_options_exit_2(duckdb_url: str, args: list[str], message: str) -> None:
    result = run("--warehouse", duckdb_url, "export-historical-data", "--release", "4.14", *args)
    assert result.exit_code == 2
    assert message in result.stderr
