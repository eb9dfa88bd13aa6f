"""Benchmark 7 (issue 16): GCS list requests per run on runs holding ~2,000 noise objects, with matchGlob.

fake-gcs-server ignores matchGlob and answers a listing in one page; a counting proxy in front of it
(tests/artifacts/buckets/glob_proxy.py) pages at GCS's 1,000 objects and, in "honour" mode, gives matchGlob the
meaning real GCS gives it. Each mode uploads the same bucket into a fresh DuckDB file; the tables must be equal.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import UTC, datetime

from .data import CACHE, REPO
from .report import Table, verdict

NOISE = 2000
BUCKET = "test-platform-results"
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def listing_table(runs: int, log=print) -> Table:
    sys.path.insert(0, str(REPO / "tests"))
    from artifacts.buckets.glob_proxy import GlobProxy  # the tests' proxy
    from servers import fake_gcs_server  # the tests' real-server helper

    from job_run_aggregator.artifacts.buckets.gcs import GCSBucket
    from job_run_aggregator.ingest.upload import upload
    from job_run_aggregator.jobs.primer import prime_job_table
    from job_run_aggregator.pipeline.sample_data import ArtifactShape, generate_sample_data, sample_job_names
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    work = CACHE / "listing"
    if work.exists():
        shutil.rmtree(work)
    data = work / "data"
    per_day = max(1, runs)
    summary = generate_sample_data(data / BUCKET, jobs=1, days=1, seed=5, now=NOW, runs_per_day=(per_day, per_day),
                                   shape=ArtifactShape(noise_objects=NOISE))
    log(f"[listing] {summary.runs} runs, {summary.files} objects; starting fake-gcs-server …")
    t = Table(f"7. GCS list requests per run, runs with {NOISE:,} noise objects ({summary.runs} runs, "
              f"{summary.files:,} objects)",
              ["server", "list requests per run", "goal ≤ 1.2 (where matchGlob is honoured)", "upload s",
               "tables equal"])
    tables = {}
    old = os.environ.get("STORAGE_EMULATOR_HOST")
    with fake_gcs_server(data) as upstream:
        for mode, label in (("ignore", "ignores matchGlob (fake-gcs-server; GCS before)"),
                            ("honour", "honours matchGlob (as GCS)")):
            with GlobProxy(upstream, mode) as proxy:
                os.environ["STORAGE_EMULATOR_HOST"] = proxy.url
                db = work / f"{mode}.duckdb"
                wh = DuckDBWarehouse(db)
                wh.create_tables()
                prime_job_table(wh, "".join(f"{n}\n" for n in sample_job_names(1)))
                began = time.perf_counter()
                result = upload(GCSBucket(BUCKET), wh, now=lambda: NOW)
                seconds = time.perf_counter() - began
                listed = result.loaded + result.unfinished
                per_run = (proxy.list_requests - 1) / listed  # minus the job's one run listing
                tables[mode] = {name: sorted(map(str, wh.query(f"SELECT * FROM `{name}`")))
                                for name in ("JobRuns", "TestRuns", "BackendDisruption", "Alerts")}
                wh.close()
                t.add(label, per_run, verdict(per_run <= 1.2) if mode == "honour" else "—", seconds,
                      "yes" if tables[mode] == tables.get("ignore") else "NO")
    if old is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = old
    t.notes += [
        "Requests counted by the proxy; the run listing of the job (one request) is not counted. Unfinished and "
        "install-failed runs hold no noise and list in one page either way.",
        "honour: the proxy pages through fake-gcs-server itself and returns only matching objects in one page, "
        "which is what GCS does; the client sends `matchGlob=<run>/**{prowjob.json,…,junit*.xml}` "
        "(`artifacts.runs.wanted_glob`).",
    ]
    return t
