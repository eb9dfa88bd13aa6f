"""Hostile bucket contents (issue 15): what data can do to log lines, the listing start and the recorded problems."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ingest.upload_model import prepare_warehouse, runs_of
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.errors import one_line
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
NAMES = sample_job_names(2)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 jobs x 2 days, read-only: tests copy it."""
    root = tmp_path_factory.mktemp("hostile") / "bucket"
    generate_sample_data(root, jobs=2, days=2, seed=3, now=NOW)
    return root


@pytest.fixture
def bucket(tmp_path: Path, sample: Path) -> Path:
    shutil.copytree(sample, tmp_path / "bucket")
    return tmp_path / "bucket"


def cli(url: str, bucket: Path, *args: str):
    return CliRunner().invoke(app, ["--warehouse", url, "--bucket", str(bucket), *args])


# -- finding 6: log forging ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("control", ["\n", "\r", "\x1b[2K\r", "\u2028", "\x85"])
def test_a_control_character_in_an_artifact_name_cannot_forge_a_log_line(bucket, duckdb_url, control):
    job = NAMES[0]
    run = runs_of(bucket, job)[2]
    junit = next((bucket / "logs" / job / run).rglob("backend-disruption_*.json")).parent
    forged = f"backend-disruption_\"q'{control}error: FORGED LINE.json"
    (junit / forged).write_text("{not json")
    prepare_warehouse(duckdb_url, NAMES).close()

    result = cli(duckdb_url, bucket, "--log-level", "INFO", "upload-all")

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert not [line for line in lines if "FORGED" in line and not line.startswith("20")], lines
    escaped = one_line(f"backend-disruption_\"q'{control}error: FORGED LINE.json")
    assert any(escaped in line and "WARNING" in line for line in lines), result.stderr
    assert all(c.isprintable() for c in result.stderr.replace("\n", "")), repr(result.stderr)


def test_one_line_escapes_every_control_character_and_keeps_the_rest():
    assert one_line("plain – text, é, 日本") == "plain – text, é, 日本"
    assert one_line("a\nb\rc\td\x00e\x1bf\x7fg\x85h\u2028i\u202ej\ud800k") == (
        "a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x85h\\u2028i\\u202ej\\ud800k")
