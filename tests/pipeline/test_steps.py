"""The library steps both the CLI and the scheduler call: drift, job-name files, the upload line, atomic exports."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.errors import ConfigError, InputError, SchemaDrift
from job_run_aggregator.model import Problem, RunSummary
from job_run_aggregator.pipeline import steps
from job_run_aggregator.warehouse.base import TableStatus
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse


def test_drift_error_names_every_drifted_table_and_nothing_else() -> None:
    statuses = [TableStatus("Jobs", "drift", "missing column X"), TableStatus("Alerts", "exists"),
                TableStatus("JobRuns", "drift", "Name: STRING vs INTEGER"), TableStatus("TestRuns", "created")]
    error = steps.drift_error(statuses)
    assert isinstance(error, SchemaDrift)
    assert str(error) == ("2 table(s) differ from the definition; nothing was dropped or altered: "
                          "Jobs: missing column X | JobRuns: Name: STRING vs INTEGER")
    assert steps.drift_error(statuses[1:2] + statuses[3:]) is None


def test_create_tables_on_a_drifted_table_names_it_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "ci_data.duckdb"
    wh = DuckDBWarehouse(path)
    wh.create_tables()
    wh.con.execute("ALTER TABLE Jobs ADD COLUMN Surprise VARCHAR")
    wh.close()
    result = CliRunner().invoke(app, ["--warehouse", f"duckdb:///{path}", "create-tables"])
    assert result.exit_code == SchemaDrift.exit_code
    assert "error: 1 table(s) differ from the definition; nothing was dropped or altered: Jobs: " in result.stderr


def test_a_job_names_file_that_cannot_be_read_is_one_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match=rf"^{missing}: cannot read job-name file \("):
        steps.read_job_names_file(missing)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"periodic-ci-\xe9\n")
    with pytest.raises(ConfigError, match="cannot read job-name file"):
        steps.read_job_names_file(latin1)
    assert steps.job_names_from(None, None) is None


def test_the_upload_line_and_its_error() -> None:
    summary = RunSummary(jobs=2, seen=5, loaded=3, skipped=1, unfinished=0, failed=1,
                         rows={"JobRuns": 3, "Alerts": 7}, problems=[Problem("a/b.json", "bad")])
    assert steps.describe_upload(summary) == ("jobs 2, runs seen 5, loaded 3, already loaded 1, unfinished 0, "
                                              "failed 1; rows loaded: Alerts 7, JobRuns 3; problems 1")
    assert "would load 3" in steps.describe_upload(summary, dry_run=True)
    error = steps.upload_error(summary)
    assert isinstance(error, InputError) and str(error).startswith("1 run(s) failed to load")
    assert steps.upload_error(RunSummary()) is None


def test_write_atomically_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "backend_query_results.json"
    target.write_bytes(b"old")
    steps.write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no partial file left behind
    # The usual permissions (umask), not a temporary file's 0600.
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_write_atomically_into_a_directory_fails_cleanly_and_leaves_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(ConfigError, match=rf"^{target}: cannot write \("):
        steps.write_atomically(target, b"data")
    assert target.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_export_cli_over_a_directory_is_one_line_error_not_a_traceback(tmp_path: Path, duckdb_url: str) -> None:
    wh = DuckDBWarehouse(duckdb_url.removeprefix("duckdb:///"))
    wh.create_tables()
    wh.close()
    target = tmp_path / "exports"
    target.mkdir()
    result = CliRunner().invoke(app, ["--warehouse", duckdb_url, "export-historical-data", "--release", "4.14",
                                      "--out", str(target)])
    assert result.exit_code == ConfigError.exit_code
    assert f"error: {target}: cannot write (" in result.stderr
    assert "Traceback" not in result.output
