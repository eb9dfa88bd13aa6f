"""One default worker count (issue 16, measured in benchmarks/RESULTS.md benchmark 8) wherever a default is stated,
and `--workers` still overrides it."""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest.upload_model import prepare_warehouse, warehouse_tables
from typer.testing import CliRunner

from job_run_aggregator.aggregation.runner import analyze_job_runs
from job_run_aggregator.artifacts.buckets.base import DEFAULT_WORKERS, open_bucket
from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.cli import app
from job_run_aggregator.config import Settings, load_settings
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.pipeline.demo import run_demo
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.pipeline.schedule import CycleConfig

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
upload_module = importlib.import_module("job_run_aggregator.ingest.upload")  # the package re-exports the function


def test_every_stated_default_is_the_measured_one() -> None:
    assert DEFAULT_WORKERS == 32
    assert Settings().workers == DEFAULT_WORKERS
    for fn in (upload, analyze_job_runs, run_demo):
        assert inspect.signature(fn).parameters["workers"].default == DEFAULT_WORKERS, fn.__name__
    assert CycleConfig.__dataclass_fields__["workers"].default == DEFAULT_WORKERS
    for command in ("upload-all", "upload-job-runs", "upload-disruptions", "upload-alerts", "schedule"):
        out = CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
        assert f"(default {DEFAULT_WORKERS})" in " ".join(out.split()), command


def test_the_environment_and_the_flag_still_override_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JRA_WORKERS", "3")
    assert load_settings().workers == 3
    assert load_settings(workers=5).workers == 5


def test_an_upload_uses_the_workers_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate_sample_data(tmp_path / "bucket", jobs=2, days=1, seed=4, now=NOW)
    names = sample_job_names(2)
    pools: list[int] = []
    asked: list[int] = []
    real = upload_module.ThreadPoolExecutor

    def recording(max_workers: int) -> object:
        pools.append(max_workers)
        return real(max_workers=max_workers)

    monkeypatch.setattr(upload_module, "ThreadPoolExecutor", recording)
    monkeypatch.setattr(LocalBucket, "allow_concurrency", lambda self, n: asked.append(n))
    tables = []
    for workers in (None, 3):
        warehouse = prepare_warehouse(f"duckdb:///{tmp_path}/w{workers}.duckdb", names)
        options = {} if workers is None else {"workers": workers}
        upload(open_bucket(str(tmp_path / "bucket")), warehouse, now=lambda: NOW, **options)
        tables.append(warehouse_tables(warehouse))
    assert pools == asked == [DEFAULT_WORKERS, 3]  # the pool and the bucket's connections follow the count
    assert tables[0] == tables[1] and tables[0]["JobRuns"]
