"""Benchmark data: sample buckets of a given number of runs, generated once and cached under `.bench-data/`."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".bench-data"
BUCKET_NAME = "test-platform-results"
DAYS = 21
RUNS_PER_DAY = 6  # the mean of generate_sample_data's default (4, 8) runs per job and day
NOW = datetime(2024, 6, 1, tzinfo=UTC)  # fixed, so a cached folder is the same bytes every time
SEED = 10
FORMAT = 1  # bump when the layout or the generator call changes, to invalidate caches


@dataclass(frozen=True, slots=True)
class Dataset:
    """One cached sample bucket: `root/<bucket>/logs/<job>/<build-id>/…` and its job-name list."""

    size: int  # the requested number of runs
    root: Path  # fake-gcs-server's -data folder: one sub-folder per bucket
    runs: int  # the runs actually written
    files: int
    total_bytes: int
    jobs: int

    @property
    def bucket(self) -> Path:
        return self.root / BUCKET_NAME

    @property
    def job_names_file(self) -> Path:
        return self.root.parent / "jobs.txt"


def jobs_for(size: int) -> int:
    """Jobs needed for `size` runs over DAYS days at RUNS_PER_DAY runs per job and day."""
    return max(1, math.ceil(size / (DAYS * RUNS_PER_DAY)))


def dataset(size: int, log=print) -> Dataset:
    """Return the cached bucket of about `size` runs, generating it first when missing or stale."""
    folder = CACHE / f"runs-{size}"
    marker = folder / "dataset.json"
    if marker.exists():
        meta = json.loads(marker.read_text())
        if meta.get("format") == FORMAT:
            return Dataset(size, folder / "data", meta["runs"], meta["files"], meta["total_bytes"], meta["jobs"])
    if folder.exists():
        shutil.rmtree(folder)
    jobs = jobs_for(size)
    log(f"generating {size} runs ({jobs} jobs x {DAYS} days) into {folder} …")
    bucket = folder / "data" / BUCKET_NAME
    bucket.mkdir(parents=True)
    summary = generate_sample_data(bucket, jobs=jobs, days=DAYS, seed=SEED, now=NOW)
    names = sample_job_names(jobs)
    (folder / "jobs.txt").write_text("// benchmark jobs\n" + "".join(f"{n}\n" for n in names))
    meta = {"format": FORMAT, "runs": summary.runs, "files": summary.files, "total_bytes": summary.total_bytes,
            "jobs": summary.jobs}
    marker.write_text(json.dumps(meta))
    return Dataset(size, folder / "data", summary.runs, summary.files, summary.total_bytes, summary.jobs)


def work_dir() -> Path:
    """Scratch space for warehouse files (cleared by each benchmark that uses it)."""
    path = CACHE / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path
