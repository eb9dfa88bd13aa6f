"""analyze-job-runs' I/O: find a payload's runs in the bucket, wait for them, judge them, write the reports."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from job_run_aggregator.artifacts.buckets.base import Bucket
from job_run_aggregator.errors import ConfigError
from job_run_aggregator.model import Problem
from job_run_aggregator.artifacts.runs import ParsedRun, observe_run
from job_run_aggregator.warehouse.base import Warehouse
from job_run_aggregator.aggregation.checks import FAILED, CheckResult, check_disruption
from job_run_aggregator.aggregation.queries import HISTORICAL_STATS_SQL, historical_stats_from_rows, history_params
from job_run_aggregator.aggregation.report import render_html, render_junit

log = logging.getLogger(__name__)

JUNIT_FILE = "junit-aggregated.xml"
HTML_FILE = "aggregated-disruption.html"


@dataclass(frozen=True, slots=True)
class RunSelector:
    """Which runs belong to the payload: exactly one of the three."""

    payload_tag: str | None = None
    aggregation_id: str | None = None
    run_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if sum(bool(x) for x in (self.payload_tag, self.aggregation_id, self.run_ids)) != 1:
            raise ConfigError("give exactly one of --payload-tag, --aggregation-id, --run-ids")

    def describe(self) -> str:
        if self.payload_tag:
            return f"payload {self.payload_tag}"
        if self.aggregation_id:
            return f"aggregation {self.aggregation_id}"
        return f"runs {', '.join(self.run_ids)}"

    def selects(self, obs: ParsedRun) -> bool:
        pj = obs.prowjob
        if self.run_ids:
            return obs.run_id in self.run_ids
        if pj is None:
            return False
        if self.payload_tag:
            return pj.payload_tag == self.payload_tag
        return pj.aggregation_id == self.aggregation_id


@dataclass(slots=True)
class Analysis:
    job: str
    selector: RunSelector
    runs: list[ParsedRun]
    unfinished: list[str]
    results: list[CheckResult]
    junit_path: Path
    html_path: Path
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status == FAILED for r in self.results)


def find_runs(bucket: Bucket, job_prefix: str, selector: RunSelector, search_recent: int, workers: int) -> list[ParsedRun]:
    """The runs of the payload (prowjob.json only), searched among the newest `search_recent` run folders."""
    if selector.run_ids:
        ids = sorted(set(selector.run_ids))
    else:
        ids = list(bucket.list_dirs(job_prefix))[-search_recent:]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found = list(pool.map(lambda i: observe_run(bucket, f"{job_prefix}/{i}", read_data=False), ids))
    return [o for o in found if selector.selects(o)]


def analyze_job_runs(
    bucket: Bucket,
    warehouse: Warehouse,
    job: str,
    selector: RunSelector,
    working_dir: Path,
    now: datetime,
    timeout: timedelta = timedelta(hours=5, minutes=30),
    poll_interval: float = 60.0,
    job_prefix: str | None = None,
    exclude_backends: Sequence[str] = (),
    skip_single_node: bool = False,
    search_recent: int = 500,
    workers: int = 8,
    on_wait: Callable[[int, int, float], None] = lambda finished, total, waited: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Analysis:
    """Wait (polling) until the payload's runs finish or `timeout`, then run the §9 checks and write the reports."""
    prefix = (job_prefix or f"logs/{job}").rstrip("/")
    started = time.monotonic()
    while True:
        runs = find_runs(bucket, prefix, selector, search_recent, workers)
        finished = [r for r in runs if r.is_finished]
        waited = time.monotonic() - started
        on_wait(len(finished), len(runs), waited)
        if runs and len(finished) == len(runs):
            break
        if waited + poll_interval > timeout.total_seconds():
            log.warning("timed out after %.0fs: %d of %d runs finished", waited, len(finished), len(runs))
            break
        sleep(poll_interval)
    observed = [observe_run(bucket, f"{prefix}/{r.run_id}") for r in finished]
    runs_by_backend: dict[str, list[tuple[str, float]]] = {}
    for obs in observed:
        for backend, seconds in (obs.disruption or {}).items():
            runs_by_backend.setdefault(backend, []).append((obs.run_id, float(seconds)))
    history = historical_stats_from_rows(warehouse.query(HISTORICAL_STATS_SQL, history_params(job, now)))
    results = check_disruption(runs_by_backend, history, job_name=job, exclude_backends=exclude_backends,
                               skip_single_node=skip_single_node)
    working_dir.mkdir(parents=True, exist_ok=True)
    # Fixed file names: nothing taken from the data becomes part of a path.
    junit_path, html_path = working_dir / JUNIT_FILE, working_dir / HTML_FILE
    junit_path.write_bytes(render_junit(results))
    html_path.write_text(render_html(job, selector.describe(), results, runs_by_backend), encoding="utf-8")
    problems = [p for o in observed for p in o.problems]
    unfinished = sorted(r.run_id for r in runs if not r.is_finished)
    return Analysis(job, selector, observed, unfinished, results, junit_path, html_path, problems)
