"""analyze-job-runs' I/O: find a payload's runs in the bucket, wait for them, judge them, write the reports."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from job_run_aggregator.aggregation.checks import FAILED, CheckResult, check_disruption
from job_run_aggregator.aggregation.history_job import HistoryChoice, choose_history_job, previous_release_job_name
from job_run_aggregator.aggregation.junit_tests import INFORMING_PATTERNS, judge_tests, tally_tests
from job_run_aggregator.aggregation.queries import (
    HISTORICAL_STATS_SQL,
    HISTORY_RUN_COUNT_SQL,
    TEST_HISTORY_SQL,
    historical_stats_from_rows,
    history_params,
    test_history_from_rows,
    test_history_params,
)
from job_run_aggregator.aggregation.report import render_html, render_junit
from job_run_aggregator.aggregation.rules import PREVIOUS_RELEASE_MIN_RUNS, RuleSet, rules_for
from job_run_aggregator.artifacts.buckets.base import Bucket, workers_for
from job_run_aggregator.artifacts.parse import is_cluster_data_path, is_junit_path, parse_cluster_data, parse_junit
from job_run_aggregator.artifacts.runs import ParsedRun, observe_run
from job_run_aggregator.errors import ConfigError, InputError, TableMissing, TransientError
from job_run_aggregator.jobs.primer import read_jobs
from job_run_aggregator.model import Problem, TestCase
from job_run_aggregator.warehouse.base import Warehouse

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
    test_results: list[CheckResult] = field(default_factory=list)  # the junit aggregation (§9.2)
    history_job: str = ""
    rules: str = ""

    @property
    def failed(self) -> bool:
        return any(r.status == FAILED for r in (*self.results, *self.test_results))


def find_runs(
    bucket: Bucket, job_prefix: str, selector: RunSelector, search_recent: int, workers: int | None
) -> list[ParsedRun]:
    """The runs of the payload (prowjob.json only), searched among the newest `search_recent` run folders."""
    if selector.run_ids:
        ids = sorted(set(selector.run_ids))
    else:
        ids = list(bucket.list_dirs(job_prefix))[-search_recent:]
    workers = workers_for(bucket, workers)
    bucket.allow_concurrency(workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(lambda i: observe_run(bucket, f"{job_prefix}/{i}", read_data=False), ids))
    return [o for o in found if selector.selects(o)]


def observe_tests(bucket: Bucket, run_prefix: str) -> tuple[list[TestCase], str, list[Problem]]:
    """A run's junit cases (skipped ones kept) and MasterNodesUpdated ("" when no cluster-data file says)."""
    cases: list[TestCase] = []
    updated: set[str] = set()
    problems: list[Problem] = []
    for path in bucket.list_files(run_prefix.strip("/")):
        if not (is_junit_path(path) or is_cluster_data_path(path)):
            continue
        try:
            data = bucket.read(path)
            if is_junit_path(path):
                cases.extend(parse_junit(data, path, keep_skipped=True))
            else:
                updated.add(parse_cluster_data(data, path))
        except InputError as exc:
            problems.append(Problem(exc.path or path, exc.reason))
    return cases, combined_master_nodes_updated(updated), problems


def combined_master_nodes_updated(values: Iterable[str]) -> str:
    """Any "Y" makes the payload "Y"; else "N" if any run says so; "" (no filter) when none says."""
    seen = set(values)
    return "Y" if "Y" in seen else "N" if "N" in seen else ""


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
    workers: int | None = None,
    on_wait: Callable[[int, int, float], None] = lambda finished, total, waited: None,
    sleep: Callable[[float], None] = time.sleep,
    rules: str | RuleSet = "2023-02",
    history_job: str | None = None,
    informing_patterns: Sequence[str] = INFORMING_PATTERNS,
    judge_junit: bool = True,
) -> Analysis:
    """Wait (polling) until the payload's runs finish or `timeout`, then judge them and write the reports.

    Judged: the disruption checks (§9) and, with `judge_junit`, every junit test of the runs (§9.2), under the
    era `rules` (§9.1). `history_job` names the job whose history is used; without it, eras with the fallback
    use the previous release's job when this one has too few history runs.
    """
    era = rules_for(rules)
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
    with ThreadPoolExecutor(max_workers=workers_for(bucket, workers)) as pool:
        observed = list(pool.map(lambda r: observe_run(bucket, f"{prefix}/{r.run_id}"), finished))
        tests = list(pool.map(lambda r: observe_tests(bucket, f"{prefix}/{r.run_id}"), finished)) if judge_junit \
            or era.master_nodes_matched else []
    runs_by_backend: dict[str, list[tuple[str, float]]] = {}
    for obs in observed:
        for backend, seconds in (obs.disruption or {}).items():
            runs_by_backend.setdefault(backend, []).append((obs.run_id, float(seconds)))
    updated = combined_master_nodes_updated(u for _, u, _ in tests) if era.master_nodes_matched else ""
    choice = _history_job(warehouse, job, now, updated, era, history_job)
    history = historical_stats_from_rows(
        warehouse.query(HISTORICAL_STATS_SQL, history_params(choice.job, now, updated)))
    note = choice.note
    if updated:
        note = f"{note} History filtered to runs with MasterNodesUpdated={updated}.".strip()
    results = check_disruption(runs_by_backend, history, job_name=job, exclude_backends=exclude_backends,
                               skip_single_node=skip_single_node, rules=era, history_note=note)
    test_results: list[CheckResult] = []
    if judge_junit:
        junit_by_run = {o.run_id: t[0] for o, t in zip(observed, tests, strict=True)}
        test_results = _judge_junit(warehouse, choice.job, now, junit_by_run, selector, era, informing_patterns)
    working_dir.mkdir(parents=True, exist_ok=True)
    # Fixed file names: nothing taken from the data becomes part of a path.
    junit_path, html_path = working_dir / JUNIT_FILE, working_dir / HTML_FILE
    junit_path.write_bytes(render_junit([*results, *test_results]))
    links = {o.run_id: bucket.browse_url(f"{prefix}/{o.run_id}") for o in observed}
    html_path.write_text(render_html(job, selector.describe(), results, runs_by_backend, tests=test_results,
                                     run_links=links), encoding="utf-8")
    problems = [p for o in observed for p in o.problems] + [p for _, _, ps in tests for p in ps]
    unfinished = sorted(r.run_id for r in runs if not r.is_finished)
    return Analysis(job, selector, observed, unfinished, results, junit_path, html_path, problems,
                    test_results=test_results, history_job=choice.job, rules=era.name)


def _history_job(
    warehouse: Warehouse, job: str, now: datetime, updated: str, era: RuleSet, explicit: str | None
) -> HistoryChoice:
    if explicit:
        return HistoryChoice(explicit, f"Using historical data from job: {explicit} (--history-job).")
    if not era.previous_release_fallback:
        return HistoryChoice(job)

    def count(name: str) -> int:
        rows = warehouse.query(HISTORY_RUN_COUNT_SQL, history_params(name, now, updated))
        return int(rows[0]["JobRuns"]) if rows else 0

    own = count(job)
    if own >= PREVIOUS_RELEASE_MIN_RUNS:
        return HistoryChoice(job)
    previous = previous_release_job_name(job)
    jobs = read_jobs(warehouse)
    runs_of = {previous: count(previous)} if previous and previous in jobs else {}
    return choose_history_job(job, own, jobs, runs_of)


def _judge_junit(
    warehouse: Warehouse,
    history_job: str,
    now: datetime,
    cases: Mapping[str, Sequence[TestCase]],
    selector: RunSelector,
    era: RuleSet,
    informing_patterns: Sequence[str],
) -> list[CheckResult]:
    tallies = tally_tests(cases)
    if not tallies:
        return []
    try:
        rows = warehouse.query(TEST_HISTORY_SQL, test_history_params(history_job, now, tuple(cases)))
        history, failed = test_history_from_rows(rows), False
    except (TransientError, TableMissing) as exc:  # upstream holds every test to 99 % when the history cannot be read
        log.warning("test history of %s could not be read (%s); assuming 99%% working", history_job, exc)
        history, failed = {}, True
    return judge_tests(tallies, history, rules=era, history_failed=failed, history_job=history_job,
                       informing_patterns=informing_patterns)
