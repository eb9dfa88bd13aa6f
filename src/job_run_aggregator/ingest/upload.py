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

from job_run_aggregator.artifacts.buckets.base import Bucket, RefusedPath, workers_for
from job_run_aggregator.artifacts.runs import (
    ALERTS,
    KINDS,
    MISSING_REASON,
    JobInfo,
    ParsedRun,
    build_id_problem,
    job_run_row,
    missing_rows,
    problem_rows,
    read_run,
    rows_for_run,
    usual_build_id_length,
)
from job_run_aggregator.errors import InputError
from job_run_aggregator.ingest.collector import fewer_collections
from job_run_aggregator.ingest.loader import BatchLimits, DryRunLoader, Emit, Loader, Rows, WarehouseLoader
from job_run_aggregator.ingest.state import (
    ALERT_KEYS_TABLE,
    DEFAULT_LOOKBACK,
    RELEASE_RUNS_SQL,
    KnownAlerts,
    LoadedState,
    alert_key_rows,
    clear_resolved_missing,
    read_known_alerts,
    read_loaded_state,
)
from job_run_aggregator.model import Problem, RunStatus, RunSummary
from job_run_aggregator.warehouse.base import Row, Warehouse

__all__ = ["CHUNK_RUNS", "DEFAULT_LOOKBACK", "DEFAULT_RETRY_MISSING_FOR", "BatchLimits", "Progress", "select_jobs",
           "upload"]

log = logging.getLogger(__name__)

CHUNK_RUNS = 100
# How long a run whose listed objects cannot be read stays "unfinished" before it counts as failed (issue 24).
DEFAULT_RETRY_MISSING_FOR = timedelta(hours=24)


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
    workers: int | None = None,
    dry_run: bool = False,
    emit: Emit | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch: BatchLimits | None = None,
    retry_missing_for: timedelta = DEFAULT_RETRY_MISSING_FOR,
    summary: RunSummary | None = None,
) -> RunSummary:
    """Load every finished, not yet loaded run of the selected jobs; return the counts.

    The counts accumulate in `summary` when one is given: runs and rows reach it as their batch commits, so a
    caller knows what was committed even when the upload raises.

    `dry_run` loads nothing and hands every row to `emit(table, row)` instead. When `progress.stopping()` turns
    true, the upload commits what it has read up to the end of the current job and returns (the jobs after it
    are left for the next upload; `progress.advance` was called for exactly the committed ones). A run with an
    object that was listed but could not be read loads nothing; it counts as unfinished and is read again on later
    uploads, and as failed once it has been so for `retry_missing_for` (its LoadProblems rows say which object and
    since when).
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown uploaders {sorted(unknown)}")
    progress = progress or Progress()
    summary = summary if summary is not None else RunSummary(rows={})
    jobs = select_jobs(warehouse.query("SELECT * FROM Jobs"), job_patterns)
    summary.jobs = len(jobs)
    state = read_loaded_state(warehouse, kinds, lookback, now())
    # Records of objects that vanished after listing exist only while such runs are pending (rare): the clean-up
    # statements (one per uploader) run only then, at the start after a crash between a load and its clean-up.
    flickered = bool(state.missing_since) and not dry_run
    if flickered:
        clear_resolved_missing(warehouse, kinds)
        state = read_loaded_state(warehouse, kinds, lookback, now())
    known = read_known_alerts(warehouse, record=not dry_run) if ALERTS in kinds else {}
    progress.start(len(jobs))
    loader: Loader = DryRunLoader(summary, emit) if dry_run else WarehouseLoader(warehouse, summary, batch)
    workers = workers_for(bucket, workers)
    bucket.allow_concurrency(workers)
    with fewer_collections(), ThreadPoolExecutor(max_workers=workers) as pool:
        cycle = _Cycle(bucket, warehouse, loader, pool, state, known, summary, since, now, retry_missing_for)
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
    if flickered:
        clear_resolved_missing(warehouse, kinds)
    return summary


READ_AHEAD_RUNS = CHUNK_RUNS


@dataclass(frozen=True, slots=True)
class _Cycle:
    """What every job of one upload shares."""

    bucket: Bucket
    warehouse: Warehouse
    loader: Loader
    pool: ThreadPoolExecutor
    state: LoadedState
    known: KnownAlerts  # release -> alert keys; grows as runs are read
    summary: RunSummary
    since: str | None
    now: Callable[[], datetime]
    retry_missing_for: timedelta
    # The runs with alert files this upload has handed to the loader, per release (for _backfill_zeros).
    loaded_with_alerts: dict[str, list[Row]] = field(default_factory=dict)
    # Those loaded by earlier uploads, per release, read once when the release first meets a new alert.
    prior_runs: dict[str, list[Row]] = field(default_factory=dict)
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
    seen = set(listed)
    retries = [r for r in state.failed_runs(job.name, kinds) if r not in seen and (since is None or r > since)]
    for run_id in _build_ids(cycle, job, kinds, retries + listed):
        summary.seen += 1
        missing = state.missing_kinds(job.name, run_id, kinds)
        if missing:
            todo.append((run_id, missing))
        else:
            summary.skipped += 1
    now = cycle.now()
    chunks = []
    for i in range(0, len(todo), CHUNK_RUNS):
        runs = todo[i : i + CHUNK_RUNS]
        reads = [cycle.pool.submit(_read_unless_failed, cycle, job, run_id, missing, now)
                 for run_id, missing in runs]
        chunks.append(_Chunk(job, runs, reads))
    return chunks


def _build_ids(cycle: _Cycle, job: JobInfo, kinds: tuple[str, ...], names: Sequence[str]) -> list[str]:
    """The names that are build ids of this job; the others are recorded in LoadProblems once and never read.

    A folder such as `latest` or `99999999999999999999` is not a run: loading it would let it set the listing
    start (it sorts after every id) and hide every later run.
    """
    state = cycle.state
    known = [*(state.start_after.get(k, {}).get(job.name) or "" for k in kinds),
             *(i for k in kinds for i in state.loaded.get(k, {}).get(job.name, ()))]
    usual = usual_build_id_length(known, names)
    recorded = state.rejected.get(job.name, set())
    out: list[str] = []
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for name in names:
        reason = name.reason if isinstance(name, RefusedPath) else build_id_problem(name, usual)
        if reason is None:
            out.append(name)
        elif name not in recorded:  # reported once: after that it is known in LoadProblems and passed over
            problem = Problem(f"{job.prefix}/{name}/", reason)
            problems.append(problem)
            log.warning("%s: %s", problem.path, problem.reason)
            rows += [{"JobRunName": str(name), "JobName": job.name, "Uploader": kind, "Path": problem.path,
                      "Reason": reason, "DetectedAt": cycle.now(), "JobRunStartTime": None} for kind in kinds]
    if rows:
        cycle.loader.add({"LoadProblems": rows}, RunSummary(rows={}, problems=problems))
    return out


def _finish(cycle: _Cycle, chunk: _Chunk) -> None:
    """Hand a chunk's rows (once read) or a job's end to the loader, in job order."""
    if chunk.done is not None:
        cycle.loader.then(chunk.done)
        return
    try:
        parsed = [read.result() for read in chunk.reads]
    except _GaveUp:
        raise cycle.errors[0] from None
    for rows, counts in _chunk_rows(cycle, chunk.job, chunk.runs, parsed, cycle.now()):
        cycle.loader.add(rows, counts)


def _drop(pending: deque[_Chunk]) -> None:
    """Forget chunks not handed to the loader: their runs are read again by the next upload."""
    for chunk in pending:
        for read in chunk.reads:
            read.cancel()
    pending.clear()


class _GaveUp(Exception):
    """A read not started because another read of the upload had failed."""


def _read_unless_failed(cycle: _Cycle, job: JobInfo, run_id: str, kinds: tuple[str, ...], now: datetime) -> ParsedRun:
    if cycle.errors:
        raise _GaveUp
    try:
        return read_run(cycle.bucket, job, run_id, kinds, now)
    except BaseException as exc:
        cycle.errors.append(exc)
        raise


def _backfill_zeros(cycle: _Cycle, release: str, knew_keys: bool, keys: set[tuple[str, str, str]]) -> list[Row]:
    """0-second Alerts rows for `keys` for every run of `release` loaded before that had alert files.

    "Loaded before" is the runs loaded by earlier uploads (read from the warehouse once per release and upload) plus
    those this upload has handed to the loader, committed or not (`cycle.loaded_with_alerts`), so no batch needs
    to be cut here. A loaded run with alert rows had alert files. One without any may have had files that listed
    no alert while the release knew no key yet (then nothing was injected); only then (`knew_keys` false) are
    those runs' alert files looked for again in the bucket.
    """
    this_upload = cycle.loaded_with_alerts.get(release, [])
    prior = cycle.prior_runs.get(release)
    if prior is None:
        cycle.loader.wait()  # no commit in flight while the warehouse is queried (one connection)
        ours = {r["Name"] for r in this_upload}
        prior = [r for r in cycle.warehouse.query(RELEASE_RUNS_SQL, {"release": release, "with_alerts": True})
                 if r["Name"] not in ours]
        if not knew_keys:
            silent = [r for r in cycle.warehouse.query(RELEASE_RUNS_SQL, {"release": release, "with_alerts": False})
                      if r["Name"] not in ours]

            def had_alert_files(r: Row) -> bool:
                job = JobInfo(r["JobName"], (r["Prefix"] or f"logs/{r['JobName']}").strip("/"), release)
                return read_run(cycle.bucket, job, r["Name"], (ALERTS,), cycle.now()).alerts is not None

            prior += [r for r, had in zip(silent, cycle.pool.map(had_alert_files, silent), strict=True) if had]
        cycle.prior_runs[release] = prior
    return [
        {"JobRunName": r["Name"], "JobName": r["JobName"], "JobRunStartTime": r["StartTime"],
         "JobRunEndTime": r["EndTime"], "Cluster": r["Cluster"], "ReleaseTag": r["ReleaseTag"],
         "MasterNodesUpdated": r["MasterNodesUpdated"], "JobRunStatus": r["Status"],
         "Name": name, "Namespace": namespace, "Level": level, "AlertSeconds": 0}
        for r in [*prior, *this_upload]
        for name, namespace, level in sorted(keys)
    ]


def _chunk_rows(cycle: _Cycle, job: JobInfo, chunk: Sequence[tuple[str, tuple[str, ...]]],
                parsed: Sequence[ParsedRun], detected_at: datetime) -> Iterator[tuple[Rows, RunSummary]]:
    """The rows of one job's chunk of runs, per run and table, each with the run's counts and problems.

    Alerts first seen in this chunk count as known for all of its runs, and runs loaded before get their zeros
    for them (the first item, committed with this chunk's runs): the result does not depend on the order runs
    are loaded in.
    """
    release_known = cycle.known.setdefault(job.release, set())
    new_keys: set[tuple[str, str, str]] = set()
    for (_run_id, kinds), run in zip(chunk, parsed, strict=True):
        if run.status is RunStatus.LOADED and run.alerts and ALERTS in kinds:
            new_keys.update(k for k in run.alerts if k not in release_known)
    if new_keys:
        yield ({"Alerts": _backfill_zeros(cycle, job.release, bool(release_known), new_keys),
                ALERT_KEYS_TABLE: alert_key_rows(job.release, new_keys)}, RunSummary(rows={}))
        release_known.update(new_keys)
    for (run_id, kinds), run in zip(chunk, parsed, strict=True):
        summary = RunSummary(rows={})
        batch: Rows = {}
        for p in run.problems:
            summary.problems.append(p)
            log.warning("%s: %s", p.path, p.reason)
        if run.status is RunStatus.RETRY:
            since = cycle.state.missing_since.get((job.name, run_id), detected_at)
            for p in run.missing:
                summary.problems.append(p)
                log.warning("%s: %s (missing since %s)", p.path, MISSING_REASON, f"{since:%Y-%m-%d %H:%M UTC}")
            if detected_at - since >= cycle.retry_missing_for:
                summary.failed += 1  # listed but unreadable for too long: a failure someone must look at
            else:
                summary.unfinished += 1
            batch["LoadProblems"] = missing_rows(run, kinds, detected_at)
        elif run.status is RunStatus.UNFINISHED:
            summary.unfinished += 1
        elif run.status is RunStatus.FAILED:
            summary.failed += 1
            # Recorded so `status` shows it; the run itself stays unloaded and is retried next time.
            batch["LoadProblems"] = problem_rows(run, kinds, detected_at)
        else:
            summary.loaded += 1
            if run.alerts is not None and ALERTS in kinds:
                cycle.loaded_with_alerts.setdefault(job.release, []).append(job_run_row(run))
            batch = rows_for_run(run, kinds, sorted(release_known), detected_at)
        yield batch, summary
