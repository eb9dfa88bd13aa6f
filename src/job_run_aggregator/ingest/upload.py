"""The uploaders: find each job's runs not yet loaded, read them once, load their rows exactly once (DESIGN §6).

Which runs are new comes from ingest/state.py. Jobs are listed in name order and their new runs read in chunks
of one job's runs (at most CHUNK_RUNS), on a pool of workers that reads ahead across jobs. Each chunk's rows,
marker (job-run) rows included, go to the loader (ingest/loader.py), which commits them in batches across jobs
(`BatchLimits`: at most 50,000 rows or 5,000 runs per commit) on a writer thread while reading goes on.
"""

from __future__ import annotations

import fnmatch
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from job_run_aggregator.artifacts.buckets.base import Bucket, RefusedPath
from job_run_aggregator.artifacts.runs import (
    ALERTS,
    KINDS,
    JobInfo,
    ParsedRun,
    parse_run,
    problem_rows,
    rows_for_run,
    wanted_glob,
    wanted_object,
)
from job_run_aggregator.errors import InputError
from job_run_aggregator.ingest.loader import BatchLimits, DryRunLoader, Emit, Loader, Rows, WarehouseLoader
from job_run_aggregator.ingest.state import (
    DEFAULT_LOOKBACK,
    KnownAlerts,
    LoadedState,
    read_known_alerts,
    read_loaded_state,
)
from job_run_aggregator.model import Problem, RunStatus, RunSummary
from job_run_aggregator.warehouse.base import Warehouse

__all__ = ["CHUNK_RUNS", "DEFAULT_LOOKBACK", "BatchLimits", "Progress", "select_jobs", "upload"]

log = logging.getLogger(__name__)

CHUNK_RUNS = 100


@dataclass(slots=True)
class Progress:
    """Callbacks the CLI turns into a progress bar or log lines."""

    start: Callable[[int], None] = lambda total: None
    # Called once the job's runs are committed (with those of the other jobs in the same batch).
    advance: Callable[[str, RunSummary], None] = lambda job, summary: None
    # Asked after each job: True cuts the open batch short there, commits it and ends the upload (a clean stop).
    stopping: Callable[[], bool] = lambda: False


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
    emit: Emit | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch: BatchLimits | None = None,
    summary: RunSummary | None = None,
) -> RunSummary:
    """Load every finished, not yet loaded run of the selected jobs; return the counts.

    The counts accumulate in `summary` when one is given: runs and rows reach it as their batch commits, so a
    caller knows what was committed even when the upload raises.

    `dry_run` loads nothing and hands every row to `emit(table, row)` instead. When `progress.stopping()` turns
    true, the upload commits what it has read up to the end of the current job and returns (the jobs after it
    are left for the next upload; `progress.advance` was called for exactly the committed ones).
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown uploaders {sorted(unknown)}")
    progress = progress or Progress()
    summary = summary if summary is not None else RunSummary(rows={})
    jobs = select_jobs(warehouse.query("SELECT * FROM Jobs"), job_patterns)
    summary.jobs = len(jobs)
    state = read_loaded_state(warehouse, kinds, lookback)
    known = read_known_alerts(warehouse, now()) if ALERTS in kinds else {}
    progress.start(len(jobs))
    loader: Loader = DryRunLoader(summary, emit) if dry_run else WarehouseLoader(warehouse, summary, batch)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        cycle = _Cycle(bucket, loader, pool, state, known, summary, since, now)
        pending: deque[_Chunk] = deque()

        def drain(limit: int) -> bool:
            """Hand finished chunks over, in job order, until at most `limit` runs are pending; True: stopped."""
            while pending and (pending[0].done is not None or sum(len(c.runs) for c in pending) > limit):
                chunk = pending.popleft()
                _finish(cycle, chunk)
                if chunk.done is not None and progress.stopping():
                    _drop(pending)
                    return True
            return False

        try:
            try:
                for job in jobs:
                    if cycle.errors:
                        break  # a read failed: list no more jobs; draining below raises its error
                    job_kinds = job.kinds(kinds)
                    if job_kinds:
                        pending.extend(_job_chunks(cycle, job, job_kinds))
                    # The job counts as done once everything added up to here is committed.
                    pending.append(_Chunk(job, (), (), done=partial(progress.advance, job.name, summary)))
                    # Read ahead across jobs (a cycle's new runs are a few per job), a bounded number of runs.
                    if drain(READ_AHEAD_RUNS):
                        break
                else:
                    drain(-1)
                if cycle.errors:
                    drain(-1)
            except BaseException:
                # Runs read completely before the failure are committed: a server going away costs nothing read.
                _drop(pending)
                try:
                    loader.flush()
                    loader.wait()
                except Exception as exc:  # noqa: BLE001 - the first error is the one to report
                    log.warning("committing the runs read before the failure failed too: %s", exc)
                raise
            loader.flush()
            loader.wait()
        finally:
            loader.close()
    return summary


READ_AHEAD_RUNS = CHUNK_RUNS


@dataclass(frozen=True, slots=True)
class _Cycle:
    """What every job of one upload shares."""

    bucket: Bucket
    loader: Loader
    pool: ThreadPoolExecutor
    state: LoadedState
    known: KnownAlerts  # release -> alert keys; grows as runs are read
    summary: RunSummary
    since: str | None
    now: Callable[[], datetime]
    # The first error of a read. Once there is one, reads not yet started give up at once (no request meets a
    # dead server that need not), and the upload raises this error, not theirs.
    errors: list[BaseException] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Up to CHUNK_RUNS runs of one job being read; or, with `done`, the mark that the job ends here."""

    job: JobInfo
    runs: Sequence[tuple[str, tuple[str, ...]]]  # (run id, uploaders still missing it)
    reads: Sequence[Future[ParsedRun]]
    done: Callable[[], None] | None = None


def _job_chunks(cycle: _Cycle, job: JobInfo, kinds: tuple[str, ...]) -> list[_Chunk]:
    """List one job's runs and start reading those not yet loaded, in chunks of at most CHUNK_RUNS runs."""
    state, summary, since = cycle.state, cycle.summary, cycle.since
    start = state.listing_start(job.name, kinds, since)
    todo: list[tuple[str, tuple[str, ...]]] = []
    try:
        listed = list(cycle.bucket.list_dirs(job.prefix, start_after=start))
    except InputError as exc:
        # One bad job (e.g. a prefix that escapes the bucket folder) is reported; the other jobs still load.
        problem = Problem(exc.path or job.prefix, exc.reason)
        summary.problems.append(problem)
        summary.failed += 1
        log.warning("%s: %s", problem.path, problem.reason)
        return []
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
    chunks = []
    for i in range(0, len(todo), CHUNK_RUNS):
        runs = todo[i : i + CHUNK_RUNS]
        reads = [cycle.pool.submit(_read_unless_failed, cycle, job, run_id, missing) for run_id, missing in runs]
        chunks.append(_Chunk(job, runs, reads))
    return chunks


def _finish(cycle: _Cycle, chunk: _Chunk) -> None:
    """Hand a chunk's rows (once read) or a job's end to the loader, in job order."""
    if chunk.done is not None:
        cycle.loader.then(chunk.done)
        return
    try:
        parsed = [read.result() for read in chunk.reads]
    except _GaveUp:
        raise cycle.errors[0] from None
    for rows, counts in _chunk_rows(chunk.job, chunk.runs, parsed, cycle.known, cycle.now()):
        cycle.loader.add(rows, counts)


def _drop(pending: deque[_Chunk]) -> None:
    """Forget chunks not handed to the loader: their runs are read again by the next upload."""
    for chunk in pending:
        for read in chunk.reads:
            read.cancel()
    pending.clear()


class _GaveUp(Exception):
    """A read not started because another read of the upload had failed."""


def _read_unless_failed(cycle: _Cycle, job: JobInfo, run_id: str, kinds: tuple[str, ...]) -> ParsedRun:
    if cycle.errors:
        raise _GaveUp
    try:
        return _read_run(cycle.bucket, job, run_id, kinds)
    except BaseException as exc:
        cycle.errors.append(exc)
        raise


def _read_run(bucket: Bucket, job: JobInfo, run_id: str, kinds: tuple[str, ...]) -> ParsedRun:
    """List a run's objects and read, once each, those the uploaders need."""
    prefix = f"{job.prefix}/{run_id}/"
    objects: dict[str, bytes] = {}
    problems: list[Problem] = []
    for path in bucket.list_files(prefix, match_glob=wanted_glob(prefix)):
        if isinstance(path, RefusedPath):  # a symlink out of the bucket, a FIFO, …: recorded, never read
            problems.append(Problem(str(path), path.reason))
        elif wanted_object(path, prefix, kinds, job.collect_test_runs):
            try:
                objects[path] = bucket.read(path)
            except InputError as exc:  # vanished or unreadable object: report it, keep the rest of the run
                problems.append(Problem(path, exc.reason))
    run = parse_run(job, run_id, objects)
    run.problems[:0] = problems
    return run


def _chunk_rows(job: JobInfo, chunk: Sequence[tuple[str, tuple[str, ...]]], parsed: Sequence[ParsedRun],
                known: KnownAlerts, detected_at: datetime) -> Iterator[tuple[Rows, RunSummary]]:
    """The rows of one job's chunk of runs, per run and table, each with the run's counts and problems."""
    release_known = known.setdefault(job.release, set())
    # Alerts first seen in this chunk count as known for all of its runs, so the result does not depend on
    # the order runs were read in.
    for run in parsed:
        if run.status is RunStatus.LOADED and run.alerts:
            release_known.update(run.alerts)
    for (_run_id, kinds), run in zip(chunk, parsed, strict=True):
        summary = RunSummary(rows={})
        batch: Rows = {}
        for p in run.problems:
            summary.problems.append(p)
            log.warning("%s: %s", p.path, p.reason)
        if run.status is RunStatus.UNFINISHED:
            summary.unfinished += 1
        elif run.status is RunStatus.FAILED:
            summary.failed += 1
            # Recorded so `status` shows it; the run itself stays unloaded and is retried next time.
            batch["LoadProblems"] = problem_rows(run, kinds, detected_at)
        else:
            summary.loaded += 1
            batch = rows_for_run(run, kinds, sorted(release_known), detected_at)
        yield batch, summary
