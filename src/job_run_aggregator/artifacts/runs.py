"""One job run: which of its objects matter, reading them, what they say and the rows they become (DESIGN §3/§4).

The one run reader: the uploaders (`read_run`), `check-run` and `analyze-job-runs` (`observe_run`) all go through
`parse_run`. Only `read_run`/`observe_run` do I/O, through the Bucket protocol; the rest is pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from job_run_aggregator.artifacts.buckets.base import Bucket, RefusedPath, open_run_folder
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
from job_run_aggregator.errors import InputError, ObjectMissing
from job_run_aggregator.model import ALERT_DATA, DISRUPTION_DATA, Problem, ProwJob, RunStatus, TestCase

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


# -- what a build id is, and which times a run may claim (issue 15) ------------------------------------------------

MAX_ALERT_SECONDS = (2**63 - 1) // 10**9  # a Go time.Duration's range, in whole seconds
_DIGITS = re.compile(r"[1-9][0-9]*\Z")
MAX_BUILD_ID = 2**63 - 1  # prow build ids are int64
EARLIEST_RUN = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SLACK = timedelta(days=1)  # how far past our clock a run may say it started or ended


def build_id_problem(name: str, usual_length: int | None) -> str | None:
    """Why a run folder's name is not a build id of this job, or None when it is one.

    A build id is decimal digits without a leading zero, an int64 (prow's type), and as long as the job's other
    ids (they are equal-length, which is what makes listing in name order list them in time order).
    """
    if not _DIGITS.match(name):
        return "not a build id (decimal digits expected); never loaded, the listing start is unaffected"
    if len(name) > 19 or int(name) > MAX_BUILD_ID:
        return "not a build id (beyond int64); never loaded, the listing start is unaffected"
    if usual_length is not None and len(name) != usual_length:
        return (f"not a build id of this job ({len(name)} digits, its ids have {usual_length}); never loaded, "
                "the listing start is unaffected")
    return None


def usual_build_id_length(known: Iterable[str], listed: Iterable[str]) -> int | None:
    """The length of this job's build ids: that of the ids already loaded, else the commonest among those listed."""
    for name in known:
        if _DIGITS.match(name):
            return len(name)
    lengths = Counter(len(n) for n in listed if _DIGITS.match(n) and len(n) <= 19)
    if not lengths:
        return None
    return max(lengths.items(), key=lambda item: (item[1], item[0]))[0]


def check_times(run: ParsedRun, now: datetime) -> None:
    """Turn a finished run whose times are impossible into a failed one with a problem (times are not data then).

    Impossible: a start before 2000, a start or end more than a day past our clock, an end before the start.
    """
    if run.status != RunStatus.LOADED or run.start is None or run.end is None:
        return
    latest = now + CLOCK_SLACK

    def shown(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    reason = None
    if run.start < EARLIEST_RUN:
        reason = f"start time {shown(run.start)} is before {EARLIEST_RUN.year}"
    elif run.start > latest:
        reason = f"start time {shown(run.start)} is more than a day after now ({shown(now)})"
    elif run.end > latest:
        reason = f"end time {shown(run.end)} is more than a day after now ({shown(now)})"
    elif run.end < run.start:
        reason = f"ends ({shown(run.end)}) before it starts ({shown(run.start)})"
    if reason is None:
        return
    source = "prowjob.json" if run.prowjob is not None else "started.json"
    run.problems.append(Problem(f"{run.job.prefix}/{run.run_id}/{source}", f"{reason}; run not loaded"))
    run.status, run.start, run.end = RunStatus.FAILED, None, None


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
    """Everything one run's objects said, and what that makes of the run (`status`)."""

    job: JobInfo
    run_id: str
    status: RunStatus
    prowjob: ProwJob | None = None
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
    # Objects listed but gone when read (a flicker): the run's rows must not commit; it is read again later.
    missing: list[Problem] = field(default_factory=list)

    @property
    def is_finished(self) -> bool:
        return self.prowjob is not None and self.prowjob.completion_time is not None


def parse_run(
    job: JobInfo, run_id: str, objects: Mapping[str, bytes], *, run_prefix: str | None = None,
    read_unfinished: bool = False,
) -> ParsedRun:
    """Turn a run's objects (path → bytes) into a ParsedRun; bad files become problems, never exceptions.

    An unfinished run is returned without its data, unless `read_unfinished` (check-run judges a run in progress).
    """
    if run_prefix is None:
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
        run.prowjob = pj
        if pj is None:
            run.status = RunStatus.FAILED
            if not read_unfinished:
                return run
        else:
            run.state, run.start, run.end = pj.state, pj.start_time, pj.completion_time
            run.cluster, run.release_tag = pj.cluster, pj.release_tag
            if job.name and pj.job_name != job.name and not read_unfinished:
                # Another job's prowjob in this job's folder (a copy, a mix-up): its rows would be misattributed.
                problems.append(Problem(prowjob_path, f'spec.job is "{pj.job_name}", not this job "{job.name}"; '
                                                      "run not loaded"))
                run.status = RunStatus.FAILED
                return run
            if (pj.completion_time is None or pj.start_time is None) and not read_unfinished:
                return run  # not finished: retried next time
    else:
        # Older runs have no prowjob.json; started/finished.json say enough to place the run in time.
        started_path, finished_path = run_prefix + "started.json", run_prefix + "finished.json"
        started = attempt(started_path, parse_started_finished) if started_path in objects else None
        finished = attempt(finished_path, parse_started_finished) if finished_path in objects else None
        if problems:
            run.status = RunStatus.FAILED
            return run
        if finished is None or started is None or started.timestamp is None or finished.timestamp is None:
            if not read_unfinished:
                return run
        else:
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
    alerts = combine_alerts(alert_files) if alert_files else None
    run.alerts = alerts
    for key, seconds in list((alerts or {}).items()):
        if not -MAX_ALERT_SECONDS <= seconds <= MAX_ALERT_SECONDS:
            # Go summed time.Duration (int64 ns), which wraps past ~292 years; the sum is no measurement.
            first = next(p for p in sorted(objects) if is_alerts_path(p))
            problems.append(Problem(first, f"alert {key.name} ({key.namespace or '-'}, {key.level}) lasts "
                                           f"{seconds} s summed over the run's files, beyond an int64 of "
                                           "nanoseconds; alert not loaded"))
            del alerts[key]  # type: ignore[union-attr]  # not None: it has this key
    if run.status != RunStatus.FAILED and run.start is not None and run.end is not None:
        run.status = RunStatus.LOADED
    return run


def read_objects(
    bucket: Bucket, run_prefix: str, wanted: Callable[[str], bool], match_glob: str | None = None
) -> tuple[dict[str, bytes], list[Problem], list[Problem]]:
    """List a run's objects and read, once each, the wanted ones → (objects, problems, missing).

    Entries the bucket refuses (symlinks out of it, FIFOs, …) and unreadable objects are problems; objects listed
    but gone when read are `missing` (a state of the bucket, not of the data). `match_glob` is a listing hint
    (GCS lists only the matching objects where it honours it); `wanted` decides either way.
    """
    objects: dict[str, bytes] = {}
    problems: list[Problem] = []
    missing: list[Problem] = []
    try:
        listing = list(bucket.list_files(run_prefix, match_glob=match_glob))
    except ObjectMissing:
        raise
    except InputError as exc:  # e.g. a run folder that escapes the bucket: nothing of it is read
        return objects, [Problem(exc.path or run_prefix, exc.reason)], missing
    for path in listing:
        if isinstance(path, RefusedPath):  # a symlink out of the bucket, a FIFO, …: recorded, never read
            problems.append(Problem(str(path), path.reason))
        elif wanted(path):
            try:
                objects[path] = bucket.read(path)
            except ObjectMissing as exc:
                missing.append(Problem(path, exc.reason))
            except InputError as exc:  # refused or unreadable: report it, keep the rest of the run
                problems.append(Problem(path, exc.reason))
    return objects, problems, missing


def read_run(
    bucket: Bucket, job: JobInfo, run_id: str, kinds: tuple[str, ...], now: datetime | None = None
) -> ParsedRun:
    """Read, once each, the objects of one run that these uploaders need, and parse them (times checked vs `now`)."""
    prefix = f"{job.prefix}/{run_id}/"
    objects, problems, missing = read_objects(
        bucket, prefix, lambda path: wanted_object(path, prefix, kinds, job.collect_test_runs), wanted_glob(prefix))
    run = parse_run(job, run_id, objects)
    run.problems[:0] = problems
    check_times(run, now or datetime.now(UTC))
    if missing:
        # What was read is not the run (a junit file or the prowjob itself may be the one missing): no row of it
        # may commit; it is read again next upload (issue 24).
        run.missing, run.status = missing, RunStatus.RETRY
    return run


MISSING_REASON = "listed, then not found when read; run not loaded, read again next upload"


def missing_rows(run: ParsedRun, kinds: Iterable[str], detected_at: datetime) -> list[dict[str, Any]]:
    """LoadProblems rows for a run's objects that vanished after listing, for every uploader of the run.

    Every uploader gets them, so every uploader re-reads the run next time however old it is (FAILED_SQL).
    """
    return [
        {"JobRunName": run.run_id, "JobName": run.job.name, "Uploader": kind, "Path": p.path,
         "Reason": MISSING_REASON, "DetectedAt": detected_at, "JobRunStartTime": None}
        for kind in kinds
        for p in run.missing
    ]


def observe_run(bucket: Bucket, run_prefix: str, read_data: bool = True) -> ParsedRun:
    """Read a run's prowjob.json and (with `read_data`) its disruption and alert files, finished or not.

    Used by `check-run` (one run against the historical files) and `analyze-job-runs` (many runs of a payload).
    """
    run_prefix = run_prefix.strip("/")
    job_prefix, _, run_id = run_prefix.rpartition("/")
    prefix = f"{run_prefix}/" if run_prefix else ""
    job = JobInfo(job_prefix.rpartition("/")[2], job_prefix, "")
    objects: dict[str, bytes] = {}
    problems: list[Problem] = []
    missing: list[Problem] = []
    pj_path = prefix + "prowjob.json"
    try:
        objects[pj_path] = bucket.read(pj_path)
    except InputError as exc:
        problems.append(Problem(exc.path or pj_path, exc.reason))
    if read_data:
        data, more, gone = read_objects(bucket, run_prefix, lambda p: is_disruption_path(p) or is_alerts_path(p))
        objects.update(data)
        problems += more
        missing += gone
    run = parse_run(job, run_id, objects, run_prefix=prefix, read_unfinished=True)
    run.problems[:0] = problems + missing
    return run


def open_run(location: str, anonymous: bool = False, credentials_file: str | None = None) -> tuple[Bucket, str]:
    """A run given as a local folder or `gs://bucket/logs/<job>/<id>` → (bucket, prefix within it)."""
    return open_run_folder(location, anonymous, credentials_file)


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
