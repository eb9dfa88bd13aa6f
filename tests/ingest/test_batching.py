"""Commits batched across jobs (issue 21): a cycle's rows reach the warehouse in a few `load` calls bounded by
rows and runs, each holding whole runs with their marker rows; stops, failures and shared build ids behave as
with one commit per job.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ingest.upload_model import natural_key_duplicates, prepare_warehouse, runs_of, warehouse_tables

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.errors import TransientError
from job_run_aggregator.ingest.upload import BatchLimits, Progress, upload
from job_run_aggregator.model import RunSummary
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.base import Warehouse

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MARKERS = {"JobRuns": "TestRuns", "BackendDisruption_JobRuns": "BackendDisruption", "Alerts_JobRuns": "Alerts"}


class CountingWarehouse:
    """A real warehouse that records every `load` it is given (the batches), delegating everything."""

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.loads: list[dict[str, list[dict[str, Any]]]] = []

    def load(self, batch: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, int]:
        self.loads.append({t: list(rows) for t, rows in batch.items()})
        return self.inner.load(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FailingBucket:
    """A folder bucket whose reads of one run's objects fail as a server gone away would."""

    def __init__(self, inner: Any, failing_run: str) -> None:
        self.inner, self.failing_run = inner, failing_run

    def read(self, path: str) -> bytes:
        if f"/{self.failing_run}/" in path:
            raise TransientError(f"{path}: network error (ConnectionError) (gave up after 1 attempts)")
        return self.inner.read(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def many_jobs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """100 jobs with about 2 runs each: a 4-hourly cycle's shape (a few new runs in most jobs)."""
    root = tmp_path_factory.mktemp("many") / "bucket"
    generate_sample_data(root, jobs=100, days=1, seed=3, now=NOW, runs_per_day=(2, 3))
    names = sample_job_names(100)
    return root, names


def _upload(url: str, root: Path, names: list[str], **options: Any) -> tuple[CountingWarehouse, RunSummary]:
    warehouse = CountingWarehouse(prepare_warehouse(url, names))
    summary = upload(open_bucket(str(root)), warehouse, now=lambda: NOW, **options)
    return warehouse, summary


def _runs_whole(load: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Every data row of a load belongs to a run whose marker row is in the same load."""
    for marker, data in MARKERS.items():
        marked = {r["Name"] for r in load.get(marker, ())}
        assert {r["JobRunName"] for r in load.get(data, ())} <= marked, f"{data} rows without their {marker} row"


def test_a_hundred_jobs_of_new_runs_commit_in_one_batch(tmp_path, many_jobs, warehouse_url):
    root, names = many_jobs
    warehouse, summary = _upload(warehouse_url, root, names)
    assert summary.loaded >= 200 and summary.failed == 0
    assert len({r["JobName"] for r in warehouse.loads[0]["JobRuns"]}) == 100
    assert len(warehouse.loads) == 1, [sum(map(len, load.values())) for load in warehouse.loads]
    _runs_whole(warehouse.loads[0])
    again = upload(open_bucket(str(root)), warehouse, now=lambda: NOW)
    assert (again.loaded, again.skipped) == (0, summary.loaded + summary.unfinished - again.unfinished)
    assert len(warehouse.loads) == 1  # nothing new: no commit at all
    assert set(natural_key_duplicates(warehouse.inner).values()) == {0}


def test_batches_are_bounded_by_rows_and_runs_and_load_the_same_rows(tmp_path, many_jobs):
    root, names = many_jobs
    one, _ = _upload(f"duckdb:///{tmp_path / 'one.duckdb'}", root, names)
    limits = BatchLimits(rows=400, runs=7)
    small, summary = _upload(f"duckdb:///{tmp_path / 'small.duckdb'}", root, names, batch=limits)
    assert len(small.loads) > 30
    for load in small.loads:
        runs = {r["Name"] for marker in MARKERS for r in load.get(marker, ())}
        assert len(runs) <= limits.runs
        assert sum(map(len, load.values())) <= limits.rows or len(runs) == 1
        _runs_whole(load)
    assert sum(len(load["JobRuns"]) for load in small.loads) == summary.loaded
    assert warehouse_tables(small.inner) == warehouse_tables(one.inner)


def test_a_stop_commits_up_to_the_end_of_the_current_job_and_no_further(tmp_path, many_jobs):
    root, names = many_jobs
    advanced: list[str] = []
    asked = {"n": 0}

    def stopping() -> bool:
        asked["n"] += 1
        return asked["n"] >= 3  # requested while the third job is being read

    progress = Progress(advance=lambda job, summary: advanced.append(job), stopping=stopping)
    warehouse, summary = _upload(f"duckdb:///{tmp_path / 'w.duckdb'}", root, names, progress=progress)
    first = sorted(names)[:3]
    assert advanced == first
    assert len(warehouse.loads) == 1
    loaded = {r["JobName"] for r in warehouse.query("SELECT JobName FROM JobRuns")}
    assert loaded == set(first)
    assert summary.loaded == sum(len(runs_of(root, n)) for n in first) - summary.unfinished
    rest = upload(open_bucket(str(root)), warehouse, now=lambda: NOW)
    assert rest.loaded > 0 and {r["JobName"] for r in warehouse.query("SELECT JobName FROM JobRuns")} == set(names)


def test_a_read_failure_commits_the_runs_read_before_it_and_a_rerun_completes(tmp_path, many_jobs):
    root, names = many_jobs
    clean, _ = _upload(f"duckdb:///{tmp_path / 'clean.duckdb'}", root, names)
    victim_job = sorted(names)[60]
    failing = runs_of(root, victim_job)[0]
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    warehouse = CountingWarehouse(prepare_warehouse(url, names))
    with pytest.raises(TransientError, match=failing):
        upload(FailingBucket(open_bucket(str(root)), failing), warehouse, now=lambda: NOW)
    committed = {r["JobName"] for r in warehouse.query("SELECT JobName FROM JobRuns")}
    assert committed and committed <= set(sorted(names)[:60])  # nothing of the failing job or after it
    upload(open_bucket(str(root)), warehouse, now=lambda: NOW)
    assert warehouse_tables(warehouse.inner) == warehouse_tables(clean.inner)


def test_a_build_id_shared_by_two_jobs_loads_once_for_the_first_job_as_with_separate_commits(tmp_path, many_jobs):
    source, names = many_jobs
    root = tmp_path / "bucket"
    first, second = sorted(names)[:2]
    for name in (first, second):
        shutil.copytree(source / "logs" / name, root / "logs" / name)
    shared = runs_of(root, first)[0]
    shutil.copytree(root / "logs" / first / shared, root / "logs" / second / shared)
    batched, _ = _upload(f"duckdb:///{tmp_path / 'batched.duckdb'}", root, [first, second])
    assert len(batched.loads) == 2  # the second job's copy starts a batch of its own
    separate, _ = _upload(f"duckdb:///{tmp_path / 'separate.duckdb'}", root, [first, second],
                          batch=BatchLimits(runs=1))
    assert warehouse_tables(batched.inner) == warehouse_tables(separate.inner)
    owners = [r["JobName"] for r in batched.query("SELECT JobName FROM JobRuns WHERE Name = @n", {"n": shared})]
    assert owners == [first]
    assert set(natural_key_duplicates(batched.inner).values()) == {0}
