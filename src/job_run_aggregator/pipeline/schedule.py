"""The schedule (issue 9): one cycle = job-table-updater → upload-all → exports, repeated every period.

Each step ends with one summary line; a failing step is logged and the later steps still run (the next period
retries it). A cycle holds the writers' lock from start to end, so it never overlaps a manual upload. SIGTERM and
SIGINT only set a flag, read between steps, after each job inside upload-all (the batch being gathered is cut
short there and committed), and during the sleep: the process stops at the next such point, never inside a
commit, and the next run resumes where it stopped.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from job_run_aggregator.artifacts.buckets.base import Bucket
from job_run_aggregator.pipeline.update_origin import UpdateOriginOptions, scheduled_update
from job_run_aggregator.artifacts.runs import KINDS
from job_run_aggregator.errors import ConfigError, InputError, JraError
from job_run_aggregator.history.percentiles import HistoryQuery
from job_run_aggregator.ingest.upload import DEFAULT_LOOKBACK, BatchLimits, Progress, upload
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.jobs.variants import DEFAULT_RELEASES
from job_run_aggregator.model import ALERT_DATA, DISRUPTION_DATA, RunSummary
from job_run_aggregator.pipeline.steps import (
    create_tables,
    describe_upload,
    drift_error,
    export,
    job_names_from,
    newest_release,
    upload_error,
    write_atomically,
    writer_lock,
)
from job_run_aggregator.warehouse.base import Warehouse

__all__ = [  # newest_release and describe_upload live in steps.py; re-exported for existing callers
    "DEFAULT_EVERY", "STEPS", "CycleConfig", "CycleResult", "StepResult", "StopFlag",
    "describe_upload", "export_step", "newest_release", "next_start", "run_cycle", "run_schedule",
    "stop_on_signals", "update_job_table",
]

log = logging.getLogger("job_run_aggregator.pipeline.schedule")

JOB_TABLE_UPDATER, UPLOAD_ALL = "job-table-updater", "upload-all"
EXPORT_DISRUPTIONS, EXPORT_ALERTS = "export-disruptions", "export-alerts"
UPDATE_ORIGIN = "update-origin"
STEPS: tuple[str, ...] = (JOB_TABLE_UPDATER, UPLOAD_ALL, EXPORT_DISRUPTIONS, EXPORT_ALERTS, UPDATE_ORIGIN)
_EXPORT_KINDS = {EXPORT_DISRUPTIONS: DISRUPTION_DATA, EXPORT_ALERTS: ALERT_DATA}
# The names origin embeds the files under (pkg/monitortestlibrary/allowedbackenddisruption, allowedalerts).
EXPORT_FILES = {step: kind.export_file for step, kind in _EXPORT_KINDS.items()}
DEFAULT_EVERY = timedelta(hours=4)

ProgressFactory = Callable[[], AbstractContextManager[Progress]]
Opener = Callable[[], tuple[Bucket, Warehouse]]


class StopFlag:
    """Set by a signal; read between steps, between an upload's jobs, and while sleeping.

    A plain attribute, not a threading.Event: a handler that took Event's lock could deadlock with the main
    thread it interrupts, if that thread held the same lock at the time.
    """

    def __init__(self) -> None:
        self.reason = ""

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason

    def is_set(self) -> bool:
        return bool(self.reason)

    def wait(self, seconds: float, tick: float = 1.0) -> bool:
        """Sleep up to `seconds`; return True within a tick of a stop being requested."""
        deadline = time.monotonic() + seconds
        while not self.is_set() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(tick, left))
        return self.is_set()


@contextmanager
def stop_on_signals(flag: StopFlag,
                    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[None]:
    """Turn the signals into `flag.set(<name>)` while inside; the previous handlers come back afterwards."""
    previous = {}
    for sig in signals:
        # The handler only sets the flag: logging or raising here could land in the middle of a commit.
        previous[sig] = signal.signal(sig, lambda signum, frame: flag.set(signal.Signals(signum).name))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True, slots=True)
class CycleConfig:
    """What one cycle does. `steps` picks a subset of STEPS (in STEPS order whatever the order given)."""

    job_names_file: Path | None = None
    release_repo: Path | None = None
    releases: tuple[str, ...] = DEFAULT_RELEASES
    update_jobs: bool = True
    export_dir: Path | None = None
    release: str | None = None
    min_job_runs: int | None = None
    steps: tuple[str, ...] = STEPS
    lookback: timedelta = DEFAULT_LOOKBACK
    workers: int | None = None  # None: the bucket's default (workers_for)
    batch: BatchLimits = field(default_factory=BatchLimits)
    lock_timeout: float = 60.0
    dry_run: bool = False
    owner: str = "schedule"
    origin: UpdateOriginOptions | None = None  # with an origin checkout: update-origin every `update_origin_every`
    update_origin_every: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        unknown = [s for s in self.steps if s not in STEPS]
        if unknown or not self.steps:
            raise ConfigError(f"--only {', '.join(unknown) or '(none)'}: choose among {', '.join(STEPS)}")
        if self.job_names_file is not None and self.release_repo is not None:
            raise ConfigError("give --job-names-file or --release-repo, not both: each is a full list of jobs")

    @property
    def planned(self) -> tuple[str, ...]:
        """The steps this cycle runs: exports only with an export folder."""
        return tuple(s for s in STEPS if s in self.steps and (
            s in (JOB_TABLE_UPDATER, UPLOAD_ALL)
            or (self.origin is not None if s == UPDATE_ORIGIN else self.export_dir)))


@dataclass(frozen=True, slots=True)
class StepResult:
    step: str
    ok: bool
    summary: str
    exit_code: int = 0

    @property
    def line(self) -> str:
        return f"{self.step}: {self.summary}" if self.ok else f"{self.step}: FAILED: {self.summary}"


@dataclass(frozen=True, slots=True)
class CycleResult:
    steps: tuple[StepResult, ...]
    stopped: bool = False  # a stop was requested: the remaining steps (or jobs) were left for the next run
    upload: RunSummary | None = field(default=None, compare=False)

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if not s.ok)

    @property
    def exit_code(self) -> int:
        """The first failed step's exit code (its error class's), else 0."""
        return next((s.exit_code for s in self.steps if not s.ok), 0)


def run_cycle(bucket: Bucket, warehouse: Warehouse, config: CycleConfig, stop: StopFlag | None = None,
              progress: ProgressFactory | None = None,
              now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> CycleResult:
    """Run the planned steps once under the writers' lock; log and return one result per step run."""
    stop = stop or StopFlag()
    results: list[StepResult] = []
    uploaded: list[RunSummary] = []
    try:
        with writer_lock(warehouse, config.owner, config.lock_timeout, config.dry_run):
            for step in config.planned:
                if stop.is_set():
                    return CycleResult(tuple(results), stopped=True, upload=uploaded[0] if uploaded else None)
                result = _run_step(step, bucket, warehouse, config, stop, progress, now, uploaded)
                results.append(result)
                (log.info if result.ok else log.error)("%s", result.line)
    except JraError as exc:  # the lock itself: another writer is busy, try again next period
        results.append(StepResult("lock", False, str(exc), exc.exit_code))
        log.error("%s", results[-1].line)
    return CycleResult(tuple(results), stopped=stop.is_set(), upload=uploaded[0] if uploaded else None)


def _run_step(step: str, bucket: Bucket, warehouse: Warehouse, config: CycleConfig, stop: StopFlag,
              progress: ProgressFactory | None, now: Callable[[], datetime], uploaded: list[RunSummary]) -> StepResult:
    try:
        if step == JOB_TABLE_UPDATER:
            return update_job_table(warehouse, config)
        if step == UPLOAD_ALL:
            return _upload_step(bucket, warehouse, config, stop, progress, uploaded)
        if step == UPDATE_ORIGIN and config.origin is not None:
            if config.dry_run:
                return StepResult(step, True, f"would update {config.origin.origin_dir} when due")
            return StepResult(step, True, scheduled_update(warehouse, config.origin, config.update_origin_every, now()))
        return export_step(warehouse, config, step, now())
    except JraError as exc:
        return StepResult(step, False, str(exc), exc.exit_code)
    except Exception as exc:  # a bug or an untranslated backend error: log it, keep the later steps running
        log.exception("%s: unexpected error", step)
        return StepResult(step, False, f"{type(exc).__name__}: {exc}", 1)


def update_job_table(warehouse: Warehouse, config: CycleConfig) -> StepResult:
    """create-tables, then prime Jobs from the job-names file or the release checkout (with --update)."""
    tables = create_tables(warehouse, dry_run=config.dry_run)
    drift = drift_error(tables)
    if drift is not None:
        raise drift
    created = sum(t.outcome in ("created", "would create") for t in tables)
    names = job_names_from(config.job_names_file, config.release_repo, config.releases)
    head = f"tables {len(tables)} ({created} {'would be created' if config.dry_run else 'created'})"
    if names is None:
        return StepResult(JOB_TABLE_UPDATER, True, f"{head}; Jobs not primed (no job-names file or release "
                                                   "checkout configured)")
    plan = prime_job_table(warehouse, names.text, config.releases, update=config.update_jobs, dry_run=config.dry_run)
    for p in plan.rejected:
        log.warning("rejected %s", p)
    summary = f"{head}; Jobs from {names.source}: {plan.summary()}"
    if names.problems:
        for problem in names.problems:
            log.warning("%s", problem)
        return StepResult(JOB_TABLE_UPDATER, False,
                          f"{summary}; {len(names.problems)} source file(s) could not be read, the others were used",
                          InputError.exit_code)
    return StepResult(JOB_TABLE_UPDATER, True, summary)


def _upload_step(bucket: Bucket, warehouse: Warehouse, config: CycleConfig, stop: StopFlag,
                 progress: ProgressFactory | None, uploaded: list[RunSummary]) -> StepResult:
    seen = {"jobs": 0, "total": 0}
    factory = progress or (lambda: nullcontext(Progress()))
    with factory() as outer:

        def start(total: int) -> None:
            seen["total"] = total
            outer.start(total)

        def advance(job: str, summary: RunSummary) -> None:
            # Called once the job's runs are committed (a batch commits several jobs at once).
            seen["jobs"] += 1
            uploaded[:] = [summary]
            outer.advance(job, summary)

        # Asked after each job: a stop cuts the open batch short at that job, commits it, and ends the upload.
        jobs_before = getattr(warehouse, "jobs_run", None)  # BigQuery counts the jobs it starts
        summary = upload(bucket, warehouse, KINDS, lookback=config.lookback, workers=config.workers,
                         dry_run=config.dry_run, progress=Progress(start, advance, stop.is_set), batch=config.batch)
        stopped = ""
        if stop.is_set() and seen["jobs"] < seen["total"]:
            stopped = f"stopped after {seen['jobs']} of {seen['total']} jobs ({stop.reason}); "
    uploaded[:] = [summary]
    if jobs_before is not None:
        summary.bigquery_jobs = getattr(warehouse, "jobs_run", jobs_before) - jobs_before
    line = stopped + describe_upload(summary, config.dry_run)
    error = upload_error(summary)
    if error is not None:
        return StepResult(UPLOAD_ALL, False, f"{line}; {error}", error.exit_code)
    return StepResult(UPLOAD_ALL, True, line)


def export_step(warehouse: Warehouse, config: CycleConfig, step: str, now: datetime) -> StepResult:
    """Write one query_results file for the release into the export folder (atomically: never half a file)."""
    assert config.export_dir is not None
    q = HistoryQuery(_EXPORT_KINDS[step].name, now=now, min_job_runs=config.min_job_runs)
    result = export(warehouse, q, config.release)
    target = config.export_dir / EXPORT_FILES[step]
    if config.dry_run:
        return StepResult(step, True, f"would write {result.rows} rows for {result.release} to {target}")
    write_atomically(target, result.data, make_parents=True)
    return StepResult(step, True, f"wrote {result.rows} rows for {result.release} to {target}")


def next_start(started: float, every: float, now: float) -> float:
    """The first start time `started + k·every` (k ≥ 1) after `now`: an overrunning cycle skips a period."""
    k = max(1, int((now - started) // every) + 1)
    return started + k * every


def run_schedule(open_objects: Opener, config: CycleConfig, every: timedelta = DEFAULT_EVERY, once: bool = False,
                 stop: StopFlag | None = None, progress: ProgressFactory | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 on_cycle: Callable[[CycleResult], None] | None = None) -> int:
    """Run cycles every `every` until stopped (or one with `once`); return the exit code.

    `open_objects` is called each cycle and what it opens is closed after it, so between cycles nothing holds
    the warehouse (a DuckDB file stays free for manual runs and `serve`). Exit code: with `once`, the first
    failed step's; otherwise 0 after a requested stop. `on_cycle` sees each cycle's result (`--json`).
    """
    if every.total_seconds() <= 0:
        raise ConfigError(f"schedule period {every} is not positive; give e.g. --every 4h")
    stop = stop or StopFlag()
    period = every.total_seconds()
    while True:
        started = time.monotonic()
        result = _one_cycle(open_objects, config, stop, progress, now)
        if on_cycle is not None:
            on_cycle(result)
        if result.stopped:
            done = ", ".join(s.step for s in result.steps) or "no step"
            log.info("schedule: stopped cleanly on %s after %s; the next run resumes from there", stop.reason, done)
            return result.exit_code if once else 0
        if once:
            return result.exit_code
        wake = next_start(started, period, time.monotonic())
        at = now() + timedelta(seconds=wake - time.monotonic())
        log.info("schedule: cycle done (%d step(s) failed); next cycle at %s", len(result.failed),
                 at.isoformat(timespec="seconds"))
        if stop.wait(wake - time.monotonic()):
            log.info("schedule: stopped cleanly on %s while waiting for the next cycle", stop.reason)
            return 0


def _one_cycle(open_objects: Opener, config: CycleConfig, stop: StopFlag, progress: ProgressFactory | None,
               now: Callable[[], datetime]) -> CycleResult:
    try:
        bucket, warehouse = open_objects()
    except JraError as exc:  # e.g. credentials or a bad URL: nothing ran, report it like a failed step
        result = StepResult("open", False, str(exc), exc.exit_code)
        log.error("%s", result.line)
        return CycleResult((result,), stopped=stop.is_set())
    try:
        return run_cycle(bucket, warehouse, config, stop, progress, now)
    finally:
        warehouse.close()
