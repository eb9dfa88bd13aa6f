"""The uploaders: find each job's runs not yet loaded, read them once, load their rows exactly once (DESIGN §6).

Per job and uploader, listing starts after the newest loaded build id older than the look-back window, and
ids already loaded inside the window are skipped, so a run that finished late is still picked up. Runs are
read and committed in chunks of one job's runs (at most CHUNK_RUNS), each chunk's rows together with its job-run
(marker) rows, by a writer thread so that reading the next chunk overlaps the commit.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from job_run_aggregator.artifacts.buckets.base import Bucket, RefusedPath
from job_run_aggregator.errors import InputError
from job_run_aggregator.model import Problem, RunSummary
from job_run_aggregator.artifacts.runs import (
    ALERTS, KINDS, MARKER_TABLE, JobInfo, problem_rows, read_run, rows_for_run,
)
from job_run_aggregator.warehouse.base import Warehouse

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK = timedelta(hours=24)
CHUNK_RUNS = 100

# Build ids are equal-length decimal strings, so MAX(Name) is the newest id.
LOADED_SQL = """
SELECT r.JobName AS JobName, r.Name AS Name,
       r.StartTime >= TIMESTAMP_SUB(n.Newest, INTERVAL @lookback_seconds SECOND) AS InWindow
FROM {marker} AS r
JOIN (SELECT JobName, MAX(StartTime) AS Newest FROM {marker} GROUP BY JobName) AS n ON r.JobName = n.JobName
WHERE r.StartTime >= TIMESTAMP_SUB(n.Newest, INTERVAL @lookback_seconds SECOND)
UNION ALL
SELECT r.JobName AS JobName, MAX(r.Name) AS Name, FALSE AS InWindow
FROM {marker} AS r
JOIN (SELECT JobName, MAX(StartTime) AS Newest FROM {marker} GROUP BY JobName) AS n ON r.JobName = n.JobName
WHERE r.StartTime < TIMESTAMP_SUB(n.Newest, INTERVAL @lookback_seconds SECOND)
GROUP BY r.JobName
"""

# Runs that failed (unusable prowjob.json) are recorded in LoadProblems and not marked loaded; they are re-read
# on every upload, however old, so a failure is never silently outside the look-back window.
FAILED_SQL = """
SELECT DISTINCT p.JobName AS JobName, p.JobRunName AS Name
FROM LoadProblems AS p LEFT JOIN {marker} AS r ON r.Name = p.JobRunName
WHERE p.Uploader = @uploader AND r.Name IS NULL
"""

# Known alerts are read from the recent partitions only: a release's alerts all show up while it is being
# tested, and scanning years of Alerts on BigQuery every 4 hours would cost far more than it tells.
KNOWN_ALERTS_WINDOW = timedelta(days=90)
KNOWN_ALERTS_SQL = """
SELECT DISTINCT j.Release AS Release, a.Name AS Name, a.Namespace AS Namespace, a.Level AS Level
FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
WHERE a.JobRunStartTime >= @since
"""


@dataclass(slots=True)
class Progress:
    """Callbacks the CLI turns into a progress bar or log lines."""

    start: Callable[[int], None] = lambda total: None
    advance: Callable[[str, RunSummary], None] = lambda job, summary: None


@dataclass(slots=True)
class LoadedState:
    """Per job: where listing starts and which ids inside the look-back window are loaded, per uploader."""

    start_after: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> job -> id
    loaded: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # kind -> job -> ids in window
    failed: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # kind -> job -> ids to retry

    def listing_start(self, job: str, kinds: Iterable[str], since: str | None) -> str | None:
        # The lowest start over the uploaders: one listing serves them all.
        starts = [self.start_after.get(k, {}).get(job) for k in kinds]
        start = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        if since is not None and (start is None or since > start):
            start = since
        return start

    def missing_kinds(self, job: str, run_id: str, kinds: Iterable[str]) -> tuple[str, ...]:
        out = []
        for k in kinds:
            after = self.start_after.get(k, {}).get(job)
            if run_id in self.failed.get(k, {}).get(job, set()):
                out.append(k)
            elif (after is not None and run_id <= after) or run_id in self.loaded.get(k, {}).get(job, set()):
                continue
            else:
                out.append(k)
        return tuple(out)

    def failed_runs(self, job: str, kinds: Iterable[str]) -> list[str]:
        """Ids of this job's failed runs still to retry, oldest first."""
        return sorted(set().union(*(self.failed.get(k, {}).get(job, set()) for k in kinds)))


def read_loaded_state(warehouse: Warehouse, kinds: Iterable[str], lookback: timedelta) -> LoadedState:
    state = LoadedState()
    for kind in kinds:
        marker = MARKER_TABLE[kind]
        rows = warehouse.query(LOADED_SQL.format(marker=marker), {"lookback_seconds": int(lookback.total_seconds())})
        starts: dict[str, str] = {}
        loaded: dict[str, set[str]] = {}
        for r in rows:
            if r["InWindow"]:
                loaded.setdefault(r["JobName"], set()).add(r["Name"])
            elif r["Name"] is not None:
                starts[r["JobName"]] = r["Name"]
        state.start_after[kind], state.loaded[kind] = starts, loaded
        failed: dict[str, set[str]] = {}
        for r in warehouse.query(FAILED_SQL.format(marker=marker), {"uploader": kind}):
            failed.setdefault(r["JobName"], set()).add(r["Name"])
        state.failed[kind] = failed
    return state


def read_known_alerts(warehouse: Warehouse, now: datetime) -> dict[str, set[tuple[str, str, str]]]:
    """Alert keys seen per release in the last KNOWN_ALERTS_WINDOW (the zero-injection candidates)."""
    known: dict[str, set[tuple[str, str, str]]] = {}
    for r in warehouse.query(KNOWN_ALERTS_SQL, {"since": now - KNOWN_ALERTS_WINDOW}):
        known.setdefault(r["Release"], set()).add((r["Name"], r["Namespace"], r["Level"]))
    return known


def select_jobs(rows: Iterable[dict[str, Any]], patterns: Sequence[str] = ()) -> list[JobInfo]:
    """Jobs rows matching any glob pattern (all when none), sorted by name."""
    jobs = [JobInfo.from_row(r) for r in rows]
    if patterns:
        jobs = [j for j in jobs if any(fnmatch.fnmatchcase(j.name, p) for p in patterns)]
    return sorted(jobs, key=lambda j: j.name)


def upload(
    bucket: Bucket,
    warehouse: Warehouse,
    kinds: Sequence[str] = KINDS,
    job_patterns: Sequence[str] = (),
    since: str | None = None,
    lookback: timedelta = DEFAULT_LOOKBACK,
    workers: int = 8,
    dry_run: bool = False,
    emit: Callable[[str, dict[str, Any]], None] | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> RunSummary:
    """Load every finished, not yet loaded run of the selected jobs; return the counts.

    `dry_run` loads nothing and hands every row to `emit(table, row)` instead.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown uploaders {sorted(unknown)}")
    progress = progress or Progress()
    summary = RunSummary(rows={})
    jobs = select_jobs(warehouse.query("SELECT * FROM Jobs"), job_patterns)
    summary.jobs = len(jobs)
    state = read_loaded_state(warehouse, kinds, lookback)
    known = read_known_alerts(warehouse, now()) if ALERTS in kinds else {}
    progress.start(len(jobs))
    loader = _Loader(warehouse, summary, dry_run, emit)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        try:
            for job in jobs:
                job_kinds = job.kinds(kinds)
                if job_kinds:
                    _upload_job(bucket, loader, pool, job, job_kinds, state, since, known, summary, now)
                # progress.advance promises the job is committed (the scheduler stops there on SIGTERM).
                loader.then(lambda name=job.name: progress.advance(name, summary))
            loader.wait()
        finally:
            loader.close()
    return summary


class _Loader:
    """Commits each chunk's rows on a writer thread, one commit in flight, while the next chunk is read.

    DuckDB and the BigQuery client release the GIL, so reading and parsing proceed during a commit. A chunk's
    counts reach the summary, and callbacks registered after it run, only once it is committed.
    """

    def __init__(self, warehouse: Warehouse, summary: RunSummary, dry_run: bool, emit) -> None:
        self.warehouse, self.summary, self.dry_run, self.emit = warehouse, summary, dry_run, emit
        self.writer = None if dry_run else ThreadPoolExecutor(max_workers=1, thread_name_prefix="jra-load")
        self.committing: Future | None = None
        self.counts: RunSummary | None = None
        self.callbacks: list[Callable[[], None]] = []

    def submit(self, batch: dict[str, list[dict[str, Any]]], counts: RunSummary) -> None:
        self.wait()
        # Marker tables go last (see rows_for_run); dict order is insertion order, so re-order explicitly.
        markers = set(MARKER_TABLE.values())
        ordered = {t: r for t, r in batch.items() if t not in markers} | {t: r for t, r in batch.items() if t in markers}
        if self.dry_run:
            for table, rows in ordered.items():
                for row in rows:
                    if self.emit:
                        self.emit(table, row)
                counts.rows[table] = counts.rows.get(table, 0) + len(rows)
            _add_counts(self.summary, counts)
            return
        self.committing, self.counts = self.writer.submit(self.warehouse.load, ordered), counts

    def then(self, callback: Callable[[], None]) -> None:
        """Run `callback` once everything submitted so far is committed (now, when nothing is in flight)."""
        if self.committing is None:
            callback()
        else:
            self.callbacks.append(callback)

    def wait(self) -> None:
        """Wait for the commit in flight; its error, if any, is raised here; then run the waiting callbacks."""
        if self.committing is None:
            return
        done, counts, self.committing, self.counts = self.committing, self.counts, None, None
        for table, n in done.result().items():
            counts.rows[table] = counts.rows.get(table, 0) + n
        _add_counts(self.summary, counts)
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.shutdown(wait=True)


def _add_counts(summary: RunSummary, counts: RunSummary) -> None:
    summary.loaded += counts.loaded
    summary.unfinished += counts.unfinished
    summary.failed += counts.failed
    summary.problems.extend(counts.problems)
    for table, n in counts.rows.items():
        summary.rows[table] = summary.rows.get(table, 0) + n


def _upload_job(bucket, loader, pool, job, kinds, state, since, known, summary, now) -> None:
    start = state.listing_start(job.name, kinds, since)
    todo: list[tuple[str, tuple[str, ...]]] = []
    try:
        listed = list(bucket.list_dirs(job.prefix, start_after=start))
    except InputError as exc:
        # One bad job (e.g. a prefix that escapes the bucket folder) is reported; the other jobs still load.
        problem = Problem(exc.path or job.prefix, exc.reason)
        summary.problems.append(problem)
        summary.failed += 1
        log.warning("%s: %s", problem.path, problem.reason)
        return
    for folder in [d for d in listed if isinstance(d, RefusedPath)]:
        problem = Problem(f"{job.prefix}/{folder}", folder.reason)
        summary.problems.append(problem)
        log.warning("%s: %s", problem.path, problem.reason)
    listed = [d for d in listed if not isinstance(d, RefusedPath)]
    seen = set(listed)
    retries = [r for r in state.failed_runs(job.name, kinds) if r not in seen and (since is None or r > since)]
    for run_id in retries + listed:
        summary.seen += 1
        missing = state.missing_kinds(job.name, run_id, kinds)
        if missing:
            todo.append((run_id, missing))
        else:
            summary.skipped += 1
    for i in range(0, len(todo), CHUNK_RUNS):
        chunk = todo[i : i + CHUNK_RUNS]
        parsed = list(pool.map(lambda item: read_run(bucket, job, item[0], item[1]), chunk))
        counts = RunSummary(rows={})
        loader.submit(_chunk_rows(job, chunk, parsed, known, counts, now()), counts)


def _chunk_rows(job, chunk, parsed, known, summary, detected_at) -> dict[str, list[dict[str, Any]]]:
    """The rows of one job's chunk of runs, per table; counts the runs and problems in `summary`."""
    batch: dict[str, list[dict[str, Any]]] = {}
    release_known = known.setdefault(job.release, set())
    # Alerts first seen in this chunk count as known for all of its runs, so the result does not depend on
    # the order runs were read in.
    for run in parsed:
        if run.status == "loaded" and run.alerts:
            release_known.update(run.alerts)
    for (run_id, kinds), run in zip(chunk, parsed):
        for p in run.problems:
            summary.problems.append(p)
            log.warning("%s: %s", p.path, p.reason)
        if run.status == "unfinished":
            summary.unfinished += 1
            continue
        if run.status == "failed":
            summary.failed += 1
            # Recorded so `status` shows it; the run itself stays unloaded and is retried next time.
            batch.setdefault("LoadProblems", []).extend(problem_rows(run, kinds, detected_at))
            continue
        summary.loaded += 1
        for table, rows in rows_for_run(run, kinds, sorted(release_known), detected_at).items():
            batch.setdefault(table, []).extend(rows)
    return batch
