"""Keep the docs and --help honest: every command has help with an Example and is in the README."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from servers import REPO

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
