"""The uploaders: find each job's runs not yet loaded, read them once, load their rows exactly once (DESIGN §6).

Which runs are new comes from ingest/state.py. Runs are read and committed in chunks of one job's runs (at most
CHUNK_RUNS), each chunk's rows together with its job-run (marker) rows, by the loader (ingest/loader.py) on a
writer thread so that reading the next chunk overlaps the commit.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from job_run_aggregator.artifacts.buckets.base import Bucket, RefusedPath
from job_run_aggregator.artifacts.runs import (
    ALERTS,
    KINDS,
    JobInfo,
    ParsedRun,
    build_id_problem,
    problem_rows,
    read_run,
    rows_for_run,
    usual_build_id_length,
)
from job_run_aggregator.errors import InputError
from job_run_aggregator.ingest.loader import DryRunLoader, Emit, Loader, Rows, WarehouseLoader
from job_run_aggregator.ingest.state import (
    DEFAULT_LOOKBACK,
    KnownAlerts,
    LoadedState,
    read_known_alerts,
    read_loaded_state,
)
from job_run_aggregator.model import Problem, RunSummary
from job_run_aggregator.warehouse.base import Warehouse

__all__ = ["CHUNK_RUNS", "DEFAULT_LOOKBACK", "Progress", "select_jobs", "upload"]

log = logging.getLogger(__name__)

CHUNK_RUNS = 100


@dataclass(slots=True)
class Progress:
    """Callbacks the CLI turns into a progress bar or log lines."""

    start: Callable[[int], None] = lambda total: None
    advance: Callable[[str, RunSummary], None] = lambda job, summary: None


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
    state = read_loaded_state(warehouse, kinds, lookback, now())
    known = read_known_alerts(warehouse, now()) if ALERTS in kinds else {}
    progress.start(len(jobs))
    loader: Loader = DryRunLoader(summary, emit) if dry_run else WarehouseLoader(warehouse, summary)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        cycle = _Cycle(bucket, loader, pool, state, known, summary, since, now)
        try:
            for job in jobs:
                job_kinds = job.kinds(kinds)
                if job_kinds:
                    _upload_job(cycle, job, job_kinds)
                # progress.advance promises the job is committed (the scheduler stops there on SIGTERM).
                loader.then(partial(progress.advance, job.name, summary))
            loader.wait()
        finally:
            loader.close()
    return summary


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


def _upload_job(cycle: _Cycle, job: JobInfo, kinds: tuple[str, ...]) -> None:
    """List one job's runs, read those not yet loaded in chunks, and submit each chunk's rows to the loader."""
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
        return
    retries = [r for r in state.failed_runs(job.name, kinds) if r not in set(listed) and (since is None or r > since)]
    runs = _build_ids(cycle, job, kinds, retries + listed)
    for run_id in runs:
        summary.seen += 1
        missing = state.missing_kinds(job.name, run_id, kinds)
        if missing:
            todo.append((run_id, missing))
        else:
            summary.skipped += 1
    now = cycle.now()
    for i in range(0, len(todo), CHUNK_RUNS):
        chunk = todo[i : i + CHUNK_RUNS]
        parsed = list(cycle.pool.map(lambda item: read_run(cycle.bucket, job, item[0], item[1], now), chunk))
        counts = RunSummary(rows={})
        cycle.loader.submit(_chunk_rows(job, chunk, parsed, cycle.known, counts, cycle.now()), counts)


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
        cycle.loader.submit({"LoadProblems": rows}, RunSummary(rows={}, problems=problems))
    return out


def _chunk_rows(job: JobInfo, chunk: Sequence[tuple[str, tuple[str, ...]]], parsed: Sequence[ParsedRun],
                known: KnownAlerts, summary: RunSummary, detected_at: datetime) -> Rows:
    """The rows of one job's chunk of runs, per table; counts the runs and problems in `summary`."""
    batch: Rows = {}
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
