"""One job run: which of its objects matter, what they say, and the rows they become (pure, DESIGN §3/§4)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import ALERT_DATA, DISRUPTION_DATA, Problem, RunStatus, TestCase
from job_run_aggregator.artifacts.parse import (
    AlertKey,
    combine_alerts,
    combine_disruption,
    inject_zero_alerts,
    is_alerts_path,
    is_cluster_data_path,
    is_disruption_path,
    is_junit_path,
    parse_alerts_file,
    parse_cluster_data,
    parse_disruption_file,
    parse_junit,
    parse_prowjob,
    parse_started_finished,
)

JOB_RUNS, DISRUPTIONS, ALERTS = "job-runs", DISRUPTION_DATA.name, ALERT_DATA.name
KINDS = (JOB_RUNS, DISRUPTIONS, ALERTS)
# Each uploader marks a run loaded by writing its job-run row into its own table, after the data rows.
MARKER_TABLE = {JOB_RUNS: "JobRuns", DISRUPTIONS: DISRUPTION_DATA.marker_table, ALERTS: ALERT_DATA.marker_table}
DATA_TABLES = {JOB_RUNS: ("TestRuns",), DISRUPTIONS: (DISRUPTION_DATA.table,), ALERTS: (ALERT_DATA.table,)}


@dataclass(frozen=True, slots=True)
class JobInfo:
    """The Jobs row facts an uploader needs."""

    name: str
    prefix: str  # logs/<job>
    release: str
    collect_disruption: bool = True
    collect_test_runs: bool = True

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JobInfo:
        return cls(
            row["JobName"],
            (row.get("GCSJobHistoryLocationPrefix") or f"logs/{row['JobName']}").strip("/"),
            row.get("Release") or "",
            bool(row.get("CollectDisruption", True)),
            bool(row.get("CollectTestRuns", True)),
        )

    def kinds(self, wanted: Iterable[str]) -> tuple[str, ...]:
        """The uploaders that apply to this job (disruption only where CollectDisruption)."""
        return tuple(k for k in wanted if k != DISRUPTIONS or self.collect_disruption)


def wanted_object(path: str, run_prefix: str, kinds: Iterable[str], collect_test_runs: bool) -> bool:
    """Tell whether a run's object must be read for these uploaders (each object is read at most once)."""
    kinds = set(kinds)
    if path in (run_prefix + "prowjob.json", run_prefix + "started.json", run_prefix + "finished.json"):
        return True
    if is_cluster_data_path(path):
        return True
    if DISRUPTIONS in kinds and is_disruption_path(path):
        return True
    if ALERTS in kinds and is_alerts_path(path):
        return True
    return JOB_RUNS in kinds and collect_test_runs and is_junit_path(path)


def wanted_glob(run_prefix: str) -> str | None:
    """A GCS matchGlob covering every object `wanted_object` may want under a run (a superset: still filter).

    None when the run's path holds a glob character: a job name is data, and `{`, `?`, `*`, `[` or `,` in it
    would change what the glob matches.
    """
    if any(c in run_prefix for c in "*?[]{},\\"):
        return None
    names = ("prowjob.json", "started.json", "finished.json", "cluster-data*.json", "backend-disruption*.json",
             "alerts*.json", "junit*.xml")
    return f"{run_prefix}**{{{','.join(names)}}}"


@dataclass(slots=True)
class ParsedRun:
    """Everything one run's objects said."""

    job: JobInfo
    run_id: str
    status: RunStatus
    state: str = ""
    start: datetime | None = None
    end: datetime | None = None
    cluster: str = ""
    release_tag: str = ""
    master_nodes_updated: str = ""
    disruption: dict[str, int] | None = None  # None: no backend-disruption file
    alerts: dict[AlertKey, int] | None = None  # None: no alerts file
    tests: list[TestCase] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def parse_run(job: JobInfo, run_id: str, objects: Mapping[str, bytes]) -> ParsedRun:
    """Turn a run's objects (path → bytes) into a ParsedRun; bad files become problems, never exceptions."""
    run_prefix = f"{job.prefix}/{run_id}/"
    problems: list[Problem] = []

    def attempt(path: str, parse: Callable[[bytes, str], Any]) -> Any:
        try:
            return parse(objects[path], path)
        except InputError as exc:
            problems.append(Problem(path, exc.reason))
            return None

    prowjob_path = run_prefix + "prowjob.json"
    run = ParsedRun(job, run_id, RunStatus.UNFINISHED, problems=problems)
    if prowjob_path in objects:
        pj = attempt(prowjob_path, lambda d, p: parse_prowjob(d, p, build_id=run_id))
        if pj is None:
            run.status = RunStatus.FAILED
            return run
        if pj.completion_time is None or pj.start_time is None:
            return run  # not finished: retried next time
        run.state, run.start, run.end = pj.state, pj.start_time, pj.completion_time
        run.cluster, run.release_tag = pj.cluster, pj.release_tag
    else:
        # Older runs have no prowjob.json; started/finished.json say enough to place the run in time.
        started_path, finished_path = run_prefix + "started.json", run_prefix + "finished.json"
        started = attempt(started_path, parse_started_finished) if started_path in objects else None
        finished = attempt(finished_path, parse_started_finished) if finished_path in objects else None
        if problems:
            run.status = RunStatus.FAILED
            return run
        if finished is None or started is None or started.timestamp is None or finished.timestamp is None:
            return run
        run.state = (finished.result or ("SUCCESS" if finished.passed else "FAILURE")).lower()
        run.start, run.end = started.timestamp, finished.timestamp

    disruption_files, alert_files = [], []
    for path in sorted(objects):
        if is_cluster_data_path(path):
            value = attempt(path, parse_cluster_data)
            if value:
                run.master_nodes_updated = value
        elif is_disruption_path(path):
            parsed = attempt(path, parse_disruption_file)
            if parsed is not None:
                disruption_files.append(parsed)
        elif is_alerts_path(path):
            parsed = attempt(path, parse_alerts_file)
            if parsed is not None:
                alert_files.append(parsed)
        elif is_junit_path(path):
            run.tests.extend(attempt(path, parse_junit) or ())
    run.disruption = combine_disruption(disruption_files) if disruption_files else None
    run.alerts = combine_alerts(alert_files) if alert_files else None
    run.status = RunStatus.LOADED
    return run


def job_run_row(run: ParsedRun) -> dict[str, Any]:
    return {
        "Name": run.run_id, "JobName": run.job.name, "Status": run.state, "StartTime": run.start,
        "EndTime": run.end, "ReleaseTag": run.release_tag, "Cluster": run.cluster,
        "MasterNodesUpdated": run.master_nodes_updated,
    }


def _denormalised(run: ParsedRun) -> dict[str, Any]:
    return {
        "JobRunName": run.run_id, "JobName": run.job.name, "JobRunStartTime": run.start, "JobRunEndTime": run.end,
        "Cluster": run.cluster, "ReleaseTag": run.release_tag, "MasterNodesUpdated": run.master_nodes_updated,
        "JobRunStatus": run.state,
    }


def rows_for_run(
    run: ParsedRun, kinds: Iterable[str], known_alerts: Iterable[tuple[str, str, str]], detected_at: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The rows a loaded run contributes, per table, for the uploaders in `kinds` (marker tables included)."""
    out: dict[str, list[dict[str, Any]]] = {}
    kinds = tuple(kinds)
    base = _denormalised(run)
    if JOB_RUNS in kinds and run.job.collect_test_runs:
            out["TestRuns"] = [
                {"Name": t.name, "JobRunName": run.run_id, "JobName": run.job.name, "Status": t.status,
                 "TestSuite": t.suite, "JobRunStartTime": run.start}
                for t in run.tests
            ]
    if DISRUPTIONS in kinds:
        out["BackendDisruption"] = [
            {**base, "BackendName": name, "DisruptionSeconds": seconds}
            for name, seconds in sorted((run.disruption or {}).items())
        ]
    if ALERTS in kinds:
        alerts = inject_zero_alerts(run.alerts or {}, known_alerts, had_alert_files=run.alerts is not None)
        out["Alerts"] = [
            {**base, "Name": k.name, "Namespace": k.namespace, "Level": k.level, "AlertSeconds": seconds}
            for k, seconds in sorted(alerts.items())
        ]
    out["LoadProblems"] = problem_rows(run, kinds, detected_at)
    for kind in kinds:  # markers last: a BigQuery crash in between re-loads the run, MERGE keeps rows single
        out[MARKER_TABLE[kind]] = [job_run_row(run)]
    return out


def problem_rows(run: ParsedRun, kinds: Iterable[str], detected_at: datetime) -> list[dict[str, Any]]:
    return [
        {"JobRunName": run.run_id, "JobName": run.job.name, "Uploader": kind, "Path": p.path, "Reason": p.reason,
         "DetectedAt": detected_at, "JobRunStartTime": run.start}
        for kind in kinds
        for p in run.problems
        if _concerns(p.path, kind)
    ]


def _concerns(path: str, kind: str) -> bool:
    """A problem belongs to the uploader whose files it is about (prowjob problems to every uploader)."""
    if is_disruption_path(path):
        return kind == DISRUPTIONS
    if is_alerts_path(path):
        return kind == ALERTS
    if is_junit_path(path):
        return kind == JOB_RUNS
    return True
