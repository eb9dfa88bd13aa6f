"""Benchmarks 1, 2 and 5: ingest local→DuckDB against the read+parse floor, re-runs, GCS concurrency, scaling."""

from __future__ import annotations

from dataclasses import dataclass

from job_run_aggregator.artifacts.buckets.base import DEFAULT_WORKERS  # the default from GCS

from .data import BUCKET_NAME, Dataset, dataset, work_dir
from .report import Table, run_child, verdict


@dataclass(frozen=True, slots=True)
class IngestResult:
    data: Dataset
    floor: dict
    first: dict
    rerun: dict
    new5: dict


def measure_ingest(size: int, log=print) -> IngestResult:
    data = dataset(size, log)
    db = str(work_dir() / f"ingest-{size}.duckdb")
    bucket, jobs = str(data.bucket), str(data.job_names_file)
    log(f"[{size}] floor (warm-up, then measured) …")
    run_child("floor", bucket)  # fills the page cache, so floor and ingest both read warm files
    floor = run_child("floor", bucket)
    log(f"[{size}] full ingest …")
    first = run_child("ingest", bucket, db, jobs, "--setup")
    log(f"[{size}] re-run, no new data …")
    rerun = run_child("ingest", bucket, db, jobs)
    log(f"[{size}] re-run with the newest 5% of each job's runs new …")
    new5 = run_child("ingest", bucket, db, jobs, "--forget-newest", "0.05")
    for suffix in ("", ".wal"):
        (work_dir() / f"ingest-{size}.duckdb{suffix}").unlink(missing_ok=True)
    return IngestResult(data, floor, first, rerun, new5)


def ingest_tables(results: list[IngestResult]) -> list[Table]:
    speed = Table(
        "1. Ingest local folder → DuckDB (upload-all) vs the read+parse floor",
        ["runs", "files", "MB", "floor runs/s", "ours runs/s", "ours/floor time", "goal ≤ 2×", "floor RSS MB",
         "ours peak RSS MB"],
    )
    rerun = Table(
        "1b. Incremental re-runs, as a fraction of the full ingest",
        ["runs", "full s", "no new data s", "fraction", "goal < 2%", "no-new wall s (process)",
         "5% new: runs loaded", "5% new s", "fraction"],
    )
    for r in results:
        floor_rate = r.floor["runs"] / r.floor["seconds"]
        ours_rate = r.first["loaded"] / r.first["seconds"]
        ratio = r.first["seconds"] / r.floor["seconds"]
        speed.add(r.data.runs, r.floor["files"], r.floor["bytes"] / 1e6, floor_rate, ours_rate, ratio,
                  verdict(ratio <= 2.0), r.floor["peak_rss_mb"], r.first["peak_rss_mb"])
        fraction = r.rerun["seconds"] / r.first["seconds"]
        rerun.add(r.data.runs, r.first["seconds"], r.rerun["seconds"], f"{fraction:.2%}", verdict(fraction < 0.02),
                  r.rerun["wall"], r.new5["loaded"], r.new5["seconds"], f"{r.new5['seconds'] / r.first['seconds']:.1%}")
    speed.notes += [
        "floor: walk every run folder, read every file, orjson.loads each .json, ElementTree-parse each junit .xml "
        "and count its test cases; no rows, no warehouse. Measured after a warm-up pass, in its own process.",
        "ours: `ingest.upload(LocalBucket, DuckDBWarehouse)` (the local default, 2 readers) into a new DuckDB file with Jobs primed; "
        "time of the upload call, peak RSS of the whole process (getrusage ru_maxrss).",
        "ours/floor time compares the same files (unfinished runs are listed and read by both).",
    ]
    rerun.notes += [
        "no new data: the same upload again over the loaded warehouse (seconds of the upload call; the process "
        "wall time adds the interpreter start and imports).",
        "5% new: the newest 5% of each job's runs are deleted from every table, then the upload runs again "
        "(what a 4-hourly run sees: a day of new runs out of 21).",
    ]
    return [speed, rerun]


def scaling_table(results: list[IngestResult]) -> Table:
    t = Table("5. Scaling of the full ingest, smallest → largest size",
              ["runs", "ingest s", "µs per run", "time/run vs smallest", "peak RSS MB", "RSS vs smallest"])
    base = results[0]
    base_per_run = base.first["seconds"] / base.first["loaded"]
    for r in results:
        per_run = r.first["seconds"] / r.first["loaded"]
        t.add(r.data.runs, r.first["seconds"], per_run * 1e6, per_run / base_per_run, r.first["peak_rss_mb"],
              r.first["peak_rss_mb"] / base.first["peak_rss_mb"])
    if len(results) > 1:
        last = results[-1]
        growth = last.first["peak_rss_mb"] / base.first["peak_rss_mb"]
        t.notes.append(f"memory: largest/smallest peak RSS = {growth:.2f} (goal ≤ 1.5: {verdict(growth <= 1.5)}); "
                       "time is linear when time/run stays near 1.")
    return t


def gcs_table(size: int, log=print) -> Table:
    """Benchmark 2: the same upload from fake-gcs-server (-data), at --workers 1 and at the default."""
    import sys

    from .data import REPO

    sys.path.insert(0, str(REPO / "tests"))
    from servers import fake_gcs_server  # noqa: E402  (the tests' real-server helper)

    data = dataset(size, log)
    t = Table(f"2. Ingest from the GCS emulator (fake-gcs-server -data), {data.runs} runs",
              ["workers", "runs loaded", "seconds", "runs/s", "speed-up vs 1 worker", "peak RSS MB"])
    db = str(work_dir() / "gcs.duckdb")
    log(f"[gcs {size}] starting fake-gcs-server over {data.root} …")
    with fake_gcs_server(data.root) as url:
        env = {"STORAGE_EMULATOR_HOST": url}
        base = None
        for workers in (1, DEFAULT_WORKERS):
            log(f"[gcs {size}] upload-all --workers {workers} …")
            r = run_child("ingest", f"gs://{BUCKET_NAME}", db, str(data.job_names_file), "--setup",
                          "--workers", str(workers), env=env)
            rate = r["loaded"] / r["seconds"]
            base = base or rate
            t.add(workers, r["loaded"], r["seconds"], rate, rate / base, r["peak_rss_mb"])
    for suffix in ("", ".wal"):
        (work_dir() / f"gcs.duckdb{suffix}").unlink(missing_ok=True)
    t.notes.append("fake-gcs-server's start (it loads the folder into memory) is not timed; each row is a fresh "
                   "warehouse. Every object is one HTTP GET on 127.0.0.1, so this measures request concurrency.")
    return t
