"""The measured default worker counts (issue 16, benchmarks/RESULTS.md benchmarks 8 and 8b): 32 from GCS, 2 from a
local folder, wherever a default applies, and `--workers` still overrides them."""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest.upload_model import prepare_warehouse, warehouse_tables
from typer.testing import CliRunner

from job_run_aggregator.aggregation.runner import analyze_job_runs
from job_run_aggregator.artifacts.buckets.base import DEFAULT_WORKERS, LOCAL_WORKERS, open_bucket, workers_for
from job_run_aggregator.artifacts.buckets.gcs import GCSBucket
from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.cli import app
from job_run_aggregator.config import Settings, load_settings
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.pipeline.demo import run_demo
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.pipeline.schedule import CycleConfig

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
upload_module = importlib.import_module("job_run_aggregator.ingest.upload")  # the package re-exports the function


def test_every_default_is_the_buckets_measured_one(tmp_path: Path) -> None:
    assert (DEFAULT_WORKERS, LOCAL_WORKERS) == (32, 2)
    assert GCSBucket.default_workers == DEFAULT_WORKERS and LocalBucket.default_workers == LOCAL_WORKERS
    assert Settings().workers is None  # unset: each bucket's own default
    for fn in (upload, analyze_job_runs, run_demo):
        assert inspect.signature(fn).parameters["workers"].default is None, fn.__name__
    assert CycleConfig.__dataclass_fields__["workers"].default is None
    local = LocalBucket(tmp_path)
    assert workers_for(local, None) == LOCAL_WORKERS and workers_for(local, 7) == 7 and workers_for(local, 0) == 1
    for command in ("upload-all", "upload-job-runs", "upload-disruptions", "upload-alerts", "schedule"):
        out = " ".join(CliRunner().invoke(app, [command, "--help"], terminal_width=200).output.split())
        assert f"(default {DEFAULT_WORKERS} from GCS, {LOCAL_WORKERS} from a local folder)" in out, command


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
    assert pools == asked == [LOCAL_WORKERS, 3]  # the pool and the bucket's connections follow the count
    assert tables[0] == tables[1] and tables[0]["JobRuns"]
