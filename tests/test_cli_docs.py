"""Keep the docs and --help honest: every command has help with an Example and is in the README."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from paths import REPO

COMMANDS = sorted(typer.main.get_command(app).commands)


def test_readme_starts_with_the_two_commands():
    lines = (REPO / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert "job-run-aggregator" in block[0]
    assert block[1] == "bash scripts/test.sh"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_is_documented(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"`{command}`" in (REPO / "README.md").read_text()


def test_errors_print_one_line_and_the_class_exit_code():
    result = CliRunner().invoke(app, ["--warehouse", "bogus://x", "status"])
    assert result.exit_code == 2
    assert "error: warehouse URL 'bogus://x' not understood" in result.output
    assert "Traceback" not in result.output


COMMAND_OBJECTS = typer.main.get_command(app).commands
# Commands that write to the warehouse or to files: each prints a machine-readable summary with --json.
WRITING = ("analyze-historical-data", "analyze-job-runs", "check-run", "create-tables", "demo",
           "export-historical-data", "generate-sample-data", "prime-job-table", "schedule", "upload-alerts",
           "upload-all", "upload-disruptions", "upload-job-runs", "upload-test-runs")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_an_example_and_every_option_has_help(command):
    cmd = COMMAND_OBJECTS[command]
    paragraphs = [p.strip() for p in (cmd.help or "").split("\n\n") if p.strip()]
    assert paragraphs and paragraphs[-1].startswith("Example: job-run-aggregator "), cmd.help
    assert [p.opts for p in cmd.params if not getattr(p, "help", None)] == []


def test_global_options_have_help():
    group = typer.main.get_command(app)
    assert [p.opts for p in group.params if not getattr(p, "help", None)] == []


@pytest.mark.parametrize("command", WRITING)
def test_every_writing_command_has_json(command):
    assert any("--json" in p.opts for p in COMMAND_OBJECTS[command].params)


def test_one_vocabulary_for_jobs_and_outputs():
    names = {o for cmd in COMMAND_OBJECTS.values() for p in cmd.params for o in p.opts}
    # One name each for a job, an output file, an output folder and the release an export is for.
    assert {"--job", "--output-file", "--output-dir", "--target-release"} <= names
    assert not names & {"--job-name", "--out", "--dir", "--export-dir", "--working-dir"}


@pytest.mark.parametrize(
    ("command", "old", "new"),
    [
        pytest.param("export-historical-data", "--out", "--output-file", id="export-out"),
        pytest.param("export-historical-data", "--release", "--target-release", id="export-release"),
        pytest.param("generate-sample-data", "--out", "--output-dir", id="sample-out"),
        pytest.param("demo", "--dir", "--output-dir", id="demo-dir"),
        pytest.param("schedule", "--export-dir", "--output-dir", id="schedule-export-dir"),
        pytest.param("analyze-job-runs", "--working-dir", "--output-dir", id="go-working-dir"),
        pytest.param("match", "--job-name", "--job", id="match-job-name"),
        pytest.param("check-run", "--job-name", "--job", id="check-run-job-name"),
    ],
)
def test_old_option_names_are_hidden_aliases(command, old, new):
    from job_run_aggregator.cli.options import rewrite_aliases

    assert rewrite_aliases(command, [old, "x", f"{old}=y", "--", old]) == [new, "x", f"{new}=y", "--", old]
    assert old not in CliRunner().invoke(app, [command, "--help"]).output.replace(new, "")


def test_an_old_name_works_end_to_end(tmp_path):
    out = tmp_path / "bucket"
    result = CliRunner().invoke(app, ["generate-sample-data", "--out", str(out), "--jobs", "1", "--days", "1",
                                      "--now", "2026-11-20T00:00:00", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["output_dir"] == str(out) and summary["runs"] > 0 and out.is_dir()


@pytest.mark.parametrize("command", [
    pytest.param(["regressions"], id="regressions"),
    pytest.param(["export-historical-data", "--target-release", "4.14"], id="export"),
    pytest.param(["export-calibration"], id="export-calibration"),
])
@pytest.mark.parametrize("moment", ["0001-01-01", "2200-01-01T00:00:00"])
def test_a_time_out_of_range_is_one_line_not_a_traceback(tmp_path, command, moment):
    result = CliRunner().invoke(app, ["--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", *command, "--now", moment])
    assert result.exit_code == 2, result.output
    assert f"error: time {moment}" in result.output and "is out of range (2000-01-01 to 2100-01-01)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [
    pytest.param(["regressions", "--days", "1000000"], id="regressions-days"),
    pytest.param(["export-historical-data", "--target-release", "4.14", "--days", "1000000"], id="export-days"),
    pytest.param(["backtest", "--window", "10000000d"], id="backtest-window"),
])
def test_a_window_beyond_ten_years_is_one_line_not_a_traceback(tmp_path, command):
    result = CliRunner().invoke(app, ["--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", *command])
    assert result.exit_code == 2, result.output
    assert "error: " in result.output and "3650" in result.output and "Traceback" not in result.output
