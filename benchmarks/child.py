"""Measured work run in a fresh process, so that peak RSS belongs to that work alone; prints one JSON object.

    python -m benchmarks.child floor BUCKET
    python -m benchmarks.child ingest BUCKET DB JOBS_FILE [--setup] [--forget-newest F] [--workers N] [--unsized-pool]

BUCKET is a folder, or gs://NAME (STORAGE_EMULATOR_HOST set by the caller). --unsized-pool leaves the GCS client's
HTTP connection pool at requests' default (10 per host) instead of sizing it to the workers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads (DuckDB's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def floor(bucket: Path) -> dict[str, object]:
    """The floor: read every file of every run and parse it with the fastest parsers, no warehouse."""
    import xml.etree.ElementTree as ET

    import orjson

    runs = files = size = cases = 0
    cpu = cpu_seconds()
    start = time.perf_counter()
    logs = bucket / "logs"
    for job in os.scandir(logs):
        if not job.is_dir():
            continue
        for run in os.scandir(job.path):
            if not run.is_dir():
                continue
            runs += 1
            for folder, _, names in os.walk(run.path):
                for name in names:
                    with open(os.path.join(folder, name), "rb") as handle:
                        data = handle.read()
                    files += 1
                    size += len(data)
                    if name.endswith(".json"):
                        orjson.loads(data)
                    elif name.endswith(".xml"):
                        cases += sum(1 for _ in ET.fromstring(data).iter("testcase"))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": cpu_seconds() - cpu, "runs": runs, "files": files, "bytes": size, "test_cases": cases}


def forget_newest(db: str, fraction: float) -> int:
    """Delete the newest `fraction` of each job's runs from every table, as if they had not been loaded yet."""
    import duckdb

    con = duckdb.connect(db)
    con.execute(
        "CREATE TEMP TABLE forget AS SELECT Name FROM (SELECT Name, row_number() OVER (PARTITION BY JobName "
        "ORDER BY Name DESC) AS k, count(*) OVER (PARTITION BY JobName) AS n FROM JobRuns) WHERE k <= ceil(n * ?)",
        [fraction],
    )
    forgotten = con.execute("SELECT count(*) FROM forget").fetchone()[0]
    for table in ("JobRuns", "BackendDisruption_JobRuns", "Alerts_JobRuns"):
        con.execute(f'DELETE FROM "{table}" WHERE Name IN (SELECT Name FROM forget)')
    for table in ("TestRuns", "BackendDisruption", "Alerts", "LoadProblems"):
        con.execute(f'DELETE FROM "{table}" WHERE JobRunName IN (SELECT Name FROM forget)')
    con.execute("CHECKPOINT")
    con.close()
    return forgotten


def ingest(bucket_arg: str, db: str, jobs_file: str, setup: bool, forget: float, workers: int | None,
           unsized_pool: bool = False) -> dict[str, object]:
    from job_run_aggregator.ingest.upload import upload
    from job_run_aggregator.jobs.primer import prime_job_table
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    if bucket_arg.startswith("gs://"):
        from job_run_aggregator.artifacts.buckets.gcs import GCSBucket

        bucket = GCSBucket(bucket_arg[len("gs://"):])
        if unsized_pool:
            bucket.allow_concurrency = lambda workers: None  # type: ignore[method-assign]  # the "before" case
    else:
        from job_run_aggregator.artifacts.buckets.local import LocalBucket

        bucket = LocalBucket(bucket_arg)
    forgotten = 0
    if setup:
        for suffix in ("", ".wal"):
            Path(db + suffix).unlink(missing_ok=True)
        warehouse = DuckDBWarehouse(db)
        warehouse.create_tables()
        prime_job_table(warehouse, Path(jobs_file).read_text())
        warehouse.close()
    if forget:
        forgotten = forget_newest(db, forget)
    warehouse = DuckDBWarehouse(db)
    cpu = cpu_seconds()
    start = time.perf_counter()
    summary = upload(bucket, warehouse, workers=workers)
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    warehouse.close()
    return {
        "seconds": seconds, "cpu": cpu, "seen": summary.seen, "loaded": summary.loaded, "skipped": summary.skipped,
        "failed": summary.failed, "unfinished": summary.unfinished, "rows": sum(summary.rows.values()),
        "forgotten": forgotten,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.child")
    sub = parser.add_subparsers(dest="what", required=True)
    f = sub.add_parser("floor")
    f.add_argument("bucket", type=Path)
    i = sub.add_parser("ingest")
    i.add_argument("bucket")
    i.add_argument("db")
    i.add_argument("jobs_file")
    i.add_argument("--setup", action="store_true")
    i.add_argument("--forget-newest", type=float, default=0.0)
    # None: the bucket's default, as an upload without --workers (2 from a folder, 32 from GCS).
    i.add_argument("--workers", type=int, default=None)
    i.add_argument("--unsized-pool", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "floor":
        out = floor(args.bucket)
    else:
        out = ingest(args.bucket, args.db, args.jobs_file, args.setup, args.forget_newest, args.workers,
                     args.unsized_pool)
    out["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
