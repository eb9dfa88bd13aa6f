"""Loaded rows and exports do not depend on load order, crash points or the wall clock (issue 15 finding 3).

The same bucket, with data far older than any window (2026-03, while the uploads run on today's clock), is loaded
in one go, in small chunks, job by job in two orders, and with a crash at several points followed by a re-run.
Every table and both exported files (disruptions and alerts) must be identical.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ingest.upload_model import prepare_warehouse, tables_at
from typer.testing import CliRunner

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.cli import app
from job_run_aggregator.ingest.upload import BatchLimits, upload
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

OLD = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)  # > 90 days before any clock these tests run on
NAMES = sample_job_names(4)
upload_module = importlib.import_module("job_run_aggregator.ingest.upload")


class Crash(Exception):
    pass


class CrashingWarehouse:
    """The real warehouse, except that its `crash_at`-th load raises before anything of it is written."""

    def __init__(self, inner, crash_at: int) -> None:
        self.inner, self.crash_at, self.loads = inner, crash_at, 0

    def load(self, batch):
        self.loads += 1
        if self.loads == self.crash_at:
            raise Crash(f"crash at load {self.loads}")
        return self.inner.load(batch)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("order") / "bucket"
    generate_sample_data(root, jobs=4, days=4, seed=13, now=OLD, malformed=1)
    return root


def _exports(url: str, out: Path) -> dict[str, bytes]:
    files = {}
    for data_type in ("disruptions", "alerts"):
        target = out / f"{data_type}.json"
        done = CliRunner().invoke(app, ["--warehouse", url, "export-historical-data", "--data-type", data_type,
                                        "--release", "4.14", "--release", "4.13", "--now", "2026-03-01T12:00:00",
                                        "--days", "30", "--min-job-runs", "0", "--out", str(target)])
        assert done.exit_code == 0, done.output
        files[data_type] = target.read_bytes()
    return files


def _load(url: str, bucket: Path, how: str) -> None:
    wh = prepare_warehouse(url, NAMES)
    source = open_bucket(str(bucket))
    if how == "one-go":
        upload(source, wh)
    elif how.startswith("jobs-"):
        order = NAMES if how == "jobs-forward" else list(reversed(NAMES))
        for name in order:
            upload(source, wh, job_patterns=[name])
    elif how.startswith("crash-"):
        crashing = CrashingWarehouse(wh, int(how.removeprefix("crash-")))
        with pytest.raises(Crash):
            upload(source, crashing, batch=BatchLimits(runs=5))  # several commits: the crash lands between two
        upload(source, wh)  # the re-run after the crash
    wh.close()


@pytest.mark.parametrize("how", ["jobs-forward", "jobs-reverse", "small-chunks", "crash-1", "crash-2", "crash-4"])
def test_tables_and_exports_are_the_same_whatever_the_order_chunks_or_crashes(tmp_path, bucket, monkeypatch, how):
    reference = f"duckdb://{tmp_path / 'one-go.duckdb'}"
    _load(reference, bucket, "one-go")
    url = f"duckdb://{tmp_path / 'other.duckdb'}"
    if how == "small-chunks":
        monkeypatch.setattr(upload_module, "CHUNK_RUNS", 7)
        monkeypatch.setattr(upload_module, "READ_AHEAD_RUNS", 7)
        _load(url, bucket, "one-go")
    else:
        _load(url, bucket, how)

    expected, got = tables_at(reference), tables_at(url)
    assert any(row[3] == 0 for row in expected["Alerts"])  # zeros were injected: the rule is exercised
    assert got == expected
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    exported = _exports(reference, tmp_path / "a")
    assert b'"AlertName"' in exported["alerts"] and b'"BackendName"' in exported["disruptions"]
    assert _exports(url, tmp_path / "b") == exported
