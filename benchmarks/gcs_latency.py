"""Benchmark 8 (issue 16): what concurrency buys when every GCS request costs a round trip of 30–80 ms.

fake-gcs-server serves the sample bucket; the tests' fault proxy (tests/faults/proxy.py, `latency=`) in front of it
delays every request (listings and reads) by a seeded uniform draw in [30, 80] ms and counts the requests and the
TCP connections it accepts. Each setting is a fresh process (`benchmarks.child ingest --setup`, a fresh DuckDB
file) uploading the whole bucket at one worker count. The same upload without latency (the proxy still in the
path) at 1 worker and at the chosen count shows what the latency costs; rows marked "pool 10" keep
google-cloud-storage's HTTP pool at its default (requests' 10 connections per host) to show what sizing it buys.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from .data import BUCKET_NAME, REPO, dataset, work_dir
from .report import Table, run_child

WORKER_COUNTS = (1, 2, 4, 8, 16, 32, 64)
LATENCY = (0.03, 0.08)  # seconds per request, uniform
UNSIZED_COUNTS = (16, 64)  # worker counts also run with the client's default pool (10 connections)
SHARE_OF_BEST = 0.9  # the default is the smallest worker count reaching this share of the best throughput


@dataclass(frozen=True, slots=True)
class Setting:
    workers: int
    latency: bool = True
    sized_pool: bool = True

    @property
    def label(self) -> str:
        lat = f"{LATENCY[0] * 1000:.0f}–{LATENCY[1] * 1000:.0f} ms" if self.latency else "none"
        return lat if self.sized_pool else f"{lat}, pool 10"


@dataclass(frozen=True, slots=True)
class Measured:
    setting: Setting
    child: dict
    requests: int
    connections: int

    @property
    def rate(self) -> float:
        return self.child["loaded"] / self.child["seconds"]


def choose_workers(results: list[Measured], share: float = SHARE_OF_BEST) -> int:
    """The smallest worker count whose throughput reaches `share` of the best one (latency rows, sized pool)."""
    rows = [r for r in results if r.setting.latency and r.setting.sized_pool]
    best = max(r.rate for r in rows)
    return min(r.setting.workers for r in rows if r.rate >= share * best)


def measure(size: int, log=print, counts: tuple[int, ...] = WORKER_COUNTS) -> tuple[list[Measured], int, int]:
    """Upload the bucket of about `size` runs at each setting; return the results, the run and object counts."""
    sys.path.insert(0, str(REPO / "tests"))
    from faults.proxy import FaultProxy  # the tests' proxy
    from servers import fake_gcs_server  # the tests' real-server helper

    data = dataset(size, log)
    db = str(work_dir() / "gcs-latency.duckdb")
    results: list[Measured] = []

    def run(proxy_upstream: str, setting: Setting) -> Measured:
        log(f"[gcs-latency {data.runs} runs] workers {setting.workers}, latency {setting.label} …")
        with FaultProxy(proxy_upstream, latency=LATENCY if setting.latency else None, seed=16,
                        max_connections=4 * max(counts) + 16) as proxy:
            extra = [] if setting.sized_pool else ["--unsized-pool"]
            child = run_child("ingest", f"gs://{BUCKET_NAME}", db, str(data.job_names_file), "--setup",
                              "--workers", str(setting.workers), *extra, env={"STORAGE_EMULATOR_HOST": proxy.url})
        measured = Measured(setting, child, proxy.requests, proxy.connections)
        results.append(measured)
        return measured

    log(f"[gcs-latency] starting fake-gcs-server over {data.root} ({data.files} objects) …")
    with fake_gcs_server(data.root) as upstream:
        for workers in counts:
            run(upstream, Setting(workers))
        for workers in UNSIZED_COUNTS:
            if workers in counts:
                run(upstream, Setting(workers, sized_pool=False))
        chosen = choose_workers(results)
        for workers in sorted({1, chosen}):
            run(upstream, Setting(workers, latency=False))
    for suffix in ("", ".wal"):
        (work_dir() / f"gcs-latency.duckdb{suffix}").unlink(missing_ok=True)
    return results, data.runs, data.files


def latency_table(results: list[Measured], runs: int, files: int) -> Table:
    chosen = choose_workers(results)
    t = Table(f"8. Ingest from GCS with {LATENCY[0] * 1000:.0f}–{LATENCY[1] * 1000:.0f} ms per request "
              f"(fake-gcs-server behind a latency proxy), {runs} runs, {files:,} objects",
              ["latency", "workers", "runs loaded", "seconds", "runs/s", "speed-up vs 1 worker", "share of best",
               "CPU ms per run", "CPU cores busy", "peak RSS MB", "requests", "requests per run", "TCP connections",
               "connections per 100 requests"])
    base = {lat: next((r.rate for r in results if r.setting.workers == 1 and r.setting.latency == lat), None)
            for lat in (True, False)}
    best = max(r.rate for r in results if r.setting.latency and r.setting.sized_pool)
    for r in results:
        c = r.child
        one = base[r.setting.latency]
        share = f"{r.rate / best:.0%}" if r.setting.latency else "—"
        t.add(r.setting.label, r.setting.workers, c["loaded"], c["seconds"], r.rate, r.rate / one if one else "—",
              share, c["cpu"] / c["loaded"] * 1000, c["cpu"] / c["seconds"], c["peak_rss_mb"], r.requests,
              r.requests / c["seen"], r.connections, 100 * r.connections / r.requests)
    lat_one = base[True]
    raw_one = base[False]
    t.notes += [
        f"chosen default: **{chosen} workers**, the smallest count reaching {SHARE_OF_BEST:.0%} of the best "
        "throughput with latency (rule: `benchmarks.gcs_latency.choose_workers`).",
        "Each row: a fresh process and a fresh DuckDB file with Jobs primed; seconds of the upload call; CPU = user "
        "+ system of the whole process (DuckDB's threads included) during the upload; CPU cores busy = CPU / "
        "seconds; requests and TCP connections counted by the proxy (listings and reads; requests per run over "
        "the runs seen).",
        "pool 10: google-cloud-storage's requests session as it comes (urllib3 keeps 10 idle connections per host "
        "and closes the others after use, logging 'Connection pool is full'); the other rows size it to the worker "
        "count (`GCSBucket.allow_concurrency`). Real GCS pays a TCP + TLS handshake (1–2 round trips and CPU) per "
        "new connection; the proxy adds latency per request only, so here a new connection costs little time.",
    ]
    if lat_one and raw_one:
        t.notes.append(f"latency costs {raw_one / lat_one:.1f}× at 1 worker (no latency {raw_one:.0f} runs/s, "
                       f"with latency {lat_one:.1f} runs/s).")
    return t


def local_table(size: int, log=print, counts: tuple[int, ...] = WORKER_COUNTS) -> Table:
    """The same bucket from the local folder at the same worker counts (CPU-bound: no latency to hide)."""
    data = dataset(size, log)
    db = str(work_dir() / "local-workers.duckdb")
    run_child("floor", str(data.bucket))  # warm the page cache
    rows = []
    for workers in counts:
        log(f"[gcs-latency {data.runs} runs] local folder, workers {workers} …")
        rows.append((workers, run_child("ingest", str(data.bucket), db, str(data.job_names_file), "--setup",
                                        "--workers", str(workers))))
    for suffix in ("", ".wal"):
        (work_dir() / f"local-workers.duckdb{suffix}").unlink(missing_ok=True)
    t = Table(f"8b. The same {data.runs} runs from the local folder, by worker count",
              ["workers", "runs loaded", "seconds", "runs/s", "speed-up vs 1 worker", "share of best",
               "CPU ms per run", "CPU cores busy", "peak RSS MB"])
    rates = {w: c["loaded"] / c["seconds"] for w, c in rows}
    best = max(rates.values())
    for workers, c in rows:
        t.add(workers, c["loaded"], c["seconds"], rates[workers], rates[workers] / rates[counts[0]],
              f"{rates[workers] / best:.0%}", c["cpu"] / c["loaded"] * 1000, c["cpu"] / c["seconds"],
              c["peak_rss_mb"])
    smallest = min(w for w in counts if rates[w] >= SHARE_OF_BEST * best)
    t.notes.append(f"smallest count reaching {SHARE_OF_BEST:.0%} of the best here: {smallest} (same rule as 8); "
                   "a fresh process and DuckDB file per row, files in the page cache.")
    return t


def gcs_latency_tables(size: int, log=print) -> list[Table]:
    results, runs, files = measure(size, log)
    return [latency_table(results, runs, files), local_table(size, log)]
