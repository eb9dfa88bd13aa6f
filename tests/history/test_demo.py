"""demo: sample bucket → DuckDB → both query_results files, offline and with no credentials."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.history.results_file import read_query_results


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_demo_writes_both_files(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    result = run("demo", "--dir", str(directory), "--jobs", "4", "--days", "5")
    assert result.exit_code == 0, result.output
    backend_file = directory / "backend_query_results.json"
    alerts_file = directory / "alerts_query_results.json"
    backends = read_query_results(backend_file.read_bytes(), str(backend_file))
    alerts = read_query_results(alerts_file.read_bytes(), str(alerts_file))
    assert backends and alerts
    assert {r["Release"] for r in backends} == {r["Release"] for r in alerts} == {"4.14"}
    assert all("BackendName" in r for r in backends) and all("AlertName" in r for r in alerts)
    assert all(r["JobRuns"] >= 20 for r in backends + alerts)  # the demo's --min-job-runs
    assert f"Wrote {backend_file} ({len(backends)} rows) and {alerts_file} ({len(alerts)} rows)" in result.stdout
    runs = int(re.search(r"Sample bucket: .*ci-artifacts \((\d+) runs\)", result.stdout).group(1))
    assert f"runs seen {runs}," in result.stderr
    top = [line for line in result.stdout.splitlines() if re.match(r"  \S+-connections ", line)]
    assert len(top) == 5
    warehouse = f"duckdb://{directory / 'ci_data.duckdb'}"  # an absolute path: duckdb:///tmp/…
    assert directory.is_absolute()
    (next_step,) = [line for line in result.stdout.splitlines() if line.startswith("Next: ")]
    assert next_step.startswith(f"Next: job-run-aggregator --warehouse {warehouse} ") and next_step.endswith(" serve")

    # The files are what export-historical-data gives over the demo's warehouse.
    for data_type, path in (("disruptions", backend_file), ("alerts", alerts_file)):
        export = run("--warehouse", warehouse, "export-historical-data", "--data-type", data_type,
                     "--release", "4.14", "--min-job-runs", "20")
        assert export.exit_code == 0, export.output
        assert export.stdout_bytes == path.read_bytes()
