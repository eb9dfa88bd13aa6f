"""Benchmark 8 (issue 16): what concurrency buys when every GCS request costs a round trip of 30–80 ms.

fake-gcs-server serves the sample bucket; the tests' fault proxy (tests/faults/proxy.py, `latency=`) in front of it
delays every request (listings and reads) by a seeded uniform draw in [30, 80] ms and counts the requests and the
TCP connections it accepts. Each setting is a fresh process (`benchmarks.child ingest --setup`, a fresh DuckDB
file) uploading the whole bucket at one worker count. The same upload without latency (the proxy still in the
path) at 1 worker and at the chosen count shows what the latency costs; rows marked "pool 10" keep
google-cloud-storage's HTTP pool at its default (requests' 10 connections per host) to show what sizing it buys.
The proxy and the emulator run on the same cores as the upload: their CPU is measured too ("rig CPU").
"""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

from .data import BUCKET_NAME, REPO, dataset, work_dir
from .report import Table, run_child

WORKER_COUNTS = (1, 2, 4, 8, 16, 32, 64)
LATENCY = (0.03, 0.08)  # seconds per request, uniform
UNSIZED_COUNTS = (16, 64)  # worker counts also run with the client's default pool (10 connections)
SHARE_OF_BEST = 0.9  # the default is the smallest worker count reaching this share of the best throughput
# Runs of each setting that takes seconds, not minutes (≥ 8 workers, or no latency), interleaved round by round so
# that load from elsewhere on the machine spreads over every setting; the median counts.
REPEATS = 5
LOCAL_REPEATS = 5


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
    rig_cpu: float  # seconds of CPU of the proxy (this process) and fake-gcs-server during the upload

    @property
    def rate(self) -> float:
        return self.child["loaded"] / self.child["seconds"]


@dataclass(frozen=True, slots=True)
class Row:
    """One setting: the median of its repeats (by runs/s) and the range of runs/s they gave."""

    median: Measured
    rates: tuple[float, ...]

    @property
    def setting(self) -> Setting:
        return self.median.setting

    @property
    def rate(self) -> float:
        return self.median.rate


def rows_of(results: list[Measured]) -> list[Row]:
    by_setting: dict[Setting, list[Measured]] = {}
    for r in results:
        by_setting.setdefault(r.setting, []).append(r)
    rows = []
    for runs in by_setting.values():
        ordered = sorted(runs, key=lambda r: r.rate)
        rows.append(Row(ordered[(len(ordered) - 1) // 2], tuple(r.rate for r in ordered)))
    return rows


def choose_workers(rows: list[Row], share: float = SHARE_OF_BEST) -> int:
    """The smallest worker count whose (median) throughput reaches `share` of the best one (latency, sized pool)."""
    candidates = [r for r in rows if r.setting.latency and r.setting.sized_pool]
    best = max(r.rate for r in candidates)
    return min(r.setting.workers for r in candidates if r.rate >= share * best)


def _emulator_cpu() -> float:
    """CPU seconds of this process's child processes still running (fake-gcs-server), from /proc."""
    pid = os.getpid()
    total = 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(size: int, log=print, counts: tuple[int, ...] = WORKER_COUNTS) -> tuple[list[Row], int, int]:
    """Upload the bucket of about `size` runs at each setting; return the rows, the run and object counts."""
    sys.path.insert(0, str(REPO / "tests"))
    from faults.proxy import FaultProxy  # the tests' proxy
    from servers import fake_gcs_server  # the tests' real-server helper

    data = dataset(size, log)
    db = str(work_dir() / "gcs-latency.duckdb")
    results: list[Measured] = []

    def run(upstream: str, setting: Setting, note: str = "") -> None:
        log(f"[gcs-latency {data.runs} runs] workers {setting.workers}, latency {setting.label}{note} …")
        with FaultProxy(upstream, latency=LATENCY if setting.latency else None, seed=16,
                        max_connections=4 * max(counts) + 16) as proxy:
            extra = [] if setting.sized_pool else ["--unsized-pool"]
            rig = _own_cpu() + _emulator_cpu()
            child = run_child("ingest", f"gs://{BUCKET_NAME}", db, str(data.job_names_file), "--setup",
                              "--workers", str(setting.workers), *extra, env={"STORAGE_EMULATOR_HOST": proxy.url})
            rig = _own_cpu() + _emulator_cpu() - rig
        results.append(Measured(setting, child, proxy.requests, proxy.connections, rig))

    def rounds(upstream: str, settings: list[Setting]) -> None:
        for n in range(REPEATS):
            for setting in settings:
                run(upstream, setting, f" (round {n + 1}/{REPEATS})")

    log(f"[gcs-latency] starting fake-gcs-server over {data.root} ({data.files} objects) …")
    with fake_gcs_server(data.root) as upstream:
        for workers in counts:
            if workers < 8:  # minutes each, latency-bound: steady
                run(upstream, Setting(workers))
        rounds(upstream, [Setting(w) for w in counts if w >= 8]
               + [Setting(w, sized_pool=False) for w in UNSIZED_COUNTS if w in counts])
        chosen = choose_workers(rows_of(results))
        rounds(upstream, [Setting(w, latency=False) for w in sorted({1, chosen})])
    for suffix in ("", ".wal"):
        (work_dir() / f"gcs-latency.duckdb{suffix}").unlink(missing_ok=True)
    return rows_of(results), data.runs, data.files


def latency_table(rows: list[Row], runs: int, files: int) -> Table:
    chosen = choose_workers(rows)
    t = Table(f"8. Ingest from GCS with {LATENCY[0] * 1000:.0f}–{LATENCY[1] * 1000:.0f} ms per request "
              f"(fake-gcs-server behind a latency proxy), {runs} runs, {files:,} objects",
              ["latency", "workers", "runs loaded", "seconds", "runs/s", "runs/s range", "speed-up vs 1 worker",
               "share of best", "CPU ms per run", "CPU cores busy", "rig CPU ms per run", "peak RSS MB", "requests",
               "requests per run", "TCP connections", "connections per 100 requests"])
    base = {lat: next((r.rate for r in rows if r.setting.workers == 1 and r.setting.latency == lat), None)
            for lat in (True, False)}
    best = max(r.rate for r in rows if r.setting.latency and r.setting.sized_pool)
    for row in rows:
        r, c = row.median, row.median.child
        one = base[r.setting.latency]
        spread = f"{row.rates[0]:.1f}–{row.rates[-1]:.1f}" if len(row.rates) > 1 else "—"
        share = f"{r.rate / best:.0%}" if r.setting.latency else "—"
        t.add(r.setting.label, r.setting.workers, c["loaded"], c["seconds"], r.rate, spread,
              r.rate / one if one else "—", share, c["cpu"] / c["loaded"] * 1000, c["cpu"] / c["seconds"],
              r.rig_cpu / c["loaded"] * 1000, c["peak_rss_mb"], r.requests, r.requests / c["seen"], r.connections,
              100 * r.connections / r.requests)
    lat_one, raw_one = base[True], base[False]
    t.notes += [
        f"chosen default: **{chosen} workers**, the smallest count whose median throughput reaches "
        f"{SHARE_OF_BEST:.0%} of the best median with latency (rule: `benchmarks.gcs_latency.choose_workers`).",
        f"Each row: a fresh process and a fresh DuckDB file with Jobs primed; seconds of the upload call. Settings "
        f"with ≥ 8 workers or no latency ran {REPEATS} times, interleaved round by round: the row is the median run "
        "(by runs/s), the range is all of them. CPU = user + system of the uploading process (DuckDB's threads included); CPU cores busy = "
        "CPU / seconds; rig CPU = the proxy (Python) + fake-gcs-server, which share the 2 cores; requests and TCP "
        "connections counted by the proxy (listings and reads; requests per run over the runs seen).",
        "pool 10: google-cloud-storage's requests session as it comes (urllib3 keeps 10 idle connections per host "
        "and closes the others after use, logging 'Connection pool is full'); the other rows size it to the worker "
        "count (`GCSBucket.allow_concurrency`). Real GCS pays a TCP + TLS handshake (1–2 round trips and CPU) per "
        "new connection; the proxy adds latency per request only, so here a new connection costs little time.",
    ]
    if lat_one and raw_one:
        t.notes.append(f"latency costs {raw_one / lat_one:.1f}× at 1 worker (no latency {raw_one:.1f} runs/s, "
                       f"with latency {lat_one:.2f} runs/s).")
    return t


def local_table(size: int, log=print, counts: tuple[int, ...] = WORKER_COUNTS) -> Table:
    """The same bucket from the local folder at the same worker counts (CPU-bound: no latency to hide)."""
    data = dataset(size, log)
    db = str(work_dir() / "local-workers.duckdb")
    run_child("floor", str(data.bucket))  # warm the page cache
    runs: dict[int, list[dict]] = {w: [] for w in counts}
    for n in range(LOCAL_REPEATS):  # interleaved, so a burst of load elsewhere spreads over every count
        for workers in counts:
            log(f"[gcs-latency {data.runs} runs] local folder, workers {workers} ({n + 1}/{LOCAL_REPEATS}) …")
            runs[workers].append(run_child("ingest", str(data.bucket), db, str(data.job_names_file), "--setup",
                                           "--workers", str(workers)))
    for suffix in ("", ".wal"):
        (work_dir() / f"local-workers.duckdb{suffix}").unlink(missing_ok=True)
    t = Table(f"8b. The same {data.runs} runs from the local folder, by worker count (median of {LOCAL_REPEATS})",
              ["workers", "runs loaded", "seconds", "runs/s", "runs/s range", "speed-up vs 1 worker", "share of best",
               "CPU ms per run", "CPU cores busy", "peak RSS MB"])
    medians: dict[int, dict] = {}
    ranges: dict[int, list[float]] = {}
    for workers, done in runs.items():
        ordered = sorted(done, key=lambda c: c["loaded"] / c["seconds"])
        medians[workers] = ordered[(len(ordered) - 1) // 2]
        ranges[workers] = [c["loaded"] / c["seconds"] for c in ordered]
    rates = {w: c["loaded"] / c["seconds"] for w, c in medians.items()}
    best = max(rates.values())
    for workers, c in medians.items():
        t.add(workers, c["loaded"], c["seconds"], rates[workers], f"{ranges[workers][0]:.0f}–{ranges[workers][-1]:.0f}",
              rates[workers] / rates[counts[0]], f"{rates[workers] / best:.0%}", c["cpu"] / c["loaded"] * 1000,
              c["cpu"] / c["seconds"], c["peak_rss_mb"])
    smallest = min(w for w in counts if rates[w] >= SHARE_OF_BEST * best)
    t.notes.append(f"smallest count reaching {SHARE_OF_BEST:.0%} of the best here: {smallest} (same rule as 8); "
                   "a fresh process and DuckDB file per run, files in the page cache, counts interleaved.")
    return t


def gcs_latency_tables(size: int, log=print) -> list[Table]:
    rows, runs, files = measure(size, log)
    return [latency_table(rows, runs, files), local_table(size, log)]
