"""What DESIGN §3/§4/§6 predict an upload writes, computed straight from a bucket folder.

Deliberately independent of the code under test: its own Go-duration reader, its own JSON and junit reading,
its own combination rules (ceil per file then sum for disruption; sum then ceil for alerts; zeros for every
alert key any loaded run of the release reported, in every run of the release with alert files, whatever the
order runs were loaded in; MasterNodesUpdated from cluster-data; skipped junit cases dropped, suites joined by
`|||`). Only the table definitions (column names) are shared with the package.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

from job_run_aggregator.warehouse.base import Warehouse
from job_run_aggregator.warehouse.schema import TABLES

_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
ANALYSIS_LABEL = "release.openshift.io/analysis"
# LoadProblems columns compared row by row; Reason is asserted on its own and DetectedAt is a wall-clock time.
PROBLEM_IGNORED = ("DetectedAt", "Reason")


def go_duration_ns(text: str) -> Fraction:
    """Read a Go duration string ("1m2.5s", "750ms", "1.5µs", "0s") as exact nanoseconds."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return Fraction(0)
    total, pos = Fraction(0), 0
    for match in _PART.finditer(body):
        assert match.start() == pos, f"not a Go duration: {text!r}"
        total += Fraction(match.group(1)) * _UNIT_NS[match.group(2)]
        pos = match.end()
    assert pos == len(body) and pos > 0, f"not a Go duration: {text!r}"
    return sign * total


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None


def junit_cases(data: bytes) -> list[tuple[str, str, str]]:
    """(TestSuite, Name, Status) of every non-skipped case, suites of every ancestor joined by '|||'."""
    root = ET.fromstring(data)
    out: list[tuple[str, str, str]] = []

    def suite(element: ET.Element, parent: str | None) -> None:
        path = element.get("name", "") if parent is None else f"{parent}|||{element.get('name', '')}"
        for child in element:
            if child.tag == "testcase" and child.find("skipped") is None:
                out.append((path, child.get("name", ""), "Failed" if child.find("failure") is not None else "Passed"))
            elif child.tag == "testsuite":
                suite(child, path)

    if root.tag == "testsuite":
        suite(root, None)
    else:
        for child in root:
            if child.tag == "testsuite":
                suite(child, None)
    return out


@dataclass(frozen=True, slots=True)
class JobSetup:
    """A Jobs row as far as uploads care."""

    name: str
    release: str
    collect_disruption: bool = True
    collect_test_runs: bool = True

    @property
    def uploaders(self) -> tuple[str, ...]:
        return ("job-runs", "disruptions", "alerts") if self.collect_disruption else ("job-runs", "alerts")


@dataclass(slots=True)
class Counts:
    seen: int = 0
    loaded: int = 0
    skipped: int = 0
    unfinished: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)  # paths


@dataclass(slots=True)
class UploadModel:
    """Replays uploads of a bucket folder: jobs in name order, each job's new finished runs as one batch."""

    jobs: Sequence[JobSetup]
    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {t.name: [] for t in TABLES if t.name != "Jobs"})
    loaded: set[tuple[str, str]] = field(default_factory=set)
    known: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)  # release -> alert keys
    alert_runs: list[tuple[str, dict[str, Any], dict[tuple[str, str, str], int]]] = field(default_factory=list)

    def upload(self, root: Path, only: Iterable[str] | None = None) -> Counts:
        """Add the rows an `upload-all` of `root` would load now; return the counts it would report."""
        counts = Counts()
        wanted = set(only) if only is not None else None
        for job in sorted(self.jobs, key=lambda j: j.name):
            if wanted is not None and job.name not in wanted:
                continue
            batch = []
            folder = root / "logs" / job.name
            for run in sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else ():
                counts.seen += 1
                if (job.name, run) in self.loaded:
                    counts.skipped += 1
                    continue
                parsed = _read_run(root, job, run)
                counts.problems += [p for p, _ in parsed.problems]
                if parsed.status == "unfinished":
                    counts.unfinished += 1
                elif parsed.status == "failed":
                    counts.failed += 1
                    self._add("LoadProblems", _problem_rows(parsed, job))
                else:
                    batch.append(parsed)
            known = self.known.setdefault(job.release, set())
            for parsed in batch:
                known.update(parsed.alerts or {})
            for parsed in batch:
                counts.loaded += 1
                self.loaded.add((job.name, parsed.run))
                self._add_run(job, parsed, known)
        return counts

    def alert_rows(self) -> list[dict[str, Any]]:
        """Alerts: each run with alert files reports its alerts and 0 for every other key of its release."""
        return [
            {**base, "Name": n, "Namespace": ns, "Level": lvl, "AlertSeconds": s}
            for release, base, alerts in self.alert_runs
            for (n, ns, lvl), s in {**{k: 0 for k in self.known.get(release, ())}, **alerts}.items()
        ]

    def _add(self, table: str, rows: list[dict[str, Any]]) -> None:
        self.tables[table].extend(rows)

    def _add_run(self, job: JobSetup, r: _Run, known: set[tuple[str, str, str]]) -> None:
        run_row = {"Name": r.run, "JobName": job.name, "Status": r.state, "StartTime": r.start, "EndTime": r.end,
                   "ReleaseTag": r.release_tag, "Cluster": r.cluster, "MasterNodesUpdated": r.master_nodes_updated}
        base = {"JobRunName": r.run, "JobName": job.name, "JobRunStartTime": r.start, "JobRunEndTime": r.end,
                "Cluster": r.cluster, "ReleaseTag": r.release_tag, "MasterNodesUpdated": r.master_nodes_updated,
                "JobRunStatus": r.state}
        self._add("JobRuns", [run_row])
        self._add("Alerts_JobRuns", [run_row])
        if job.collect_test_runs:
            self._add("TestRuns", [{"Name": name, "JobRunName": r.run, "JobName": job.name, "Status": status,
                                    "TestSuite": suite, "JobRunStartTime": r.start}
                                   for suite, name, status in r.tests])
        if job.collect_disruption:
            self._add("BackendDisruption_JobRuns", [run_row])
            self._add("BackendDisruption", [{**base, "BackendName": b, "DisruptionSeconds": s}
                                            for b, s in (r.disruption or {}).items()])
        if r.alerts is not None:
            self.alert_runs.append((job.release, base, r.alerts))
        self._add("LoadProblems", _problem_rows(r, job))


@dataclass(slots=True)
class _Run:
    job: str
    run: str
    status: str
    state: str = ""
    start: datetime | None = None
    end: datetime | None = None
    cluster: str = ""
    release_tag: str = ""
    master_nodes_updated: str = ""
    disruption: dict[str, int] | None = None
    alerts: dict[tuple[str, str, str], int] | None = None
    tests: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, uploader)


def _uploader_of(name: str) -> str | None:
    if name.startswith("backend-disruption") and name.endswith(".json"):
        return "disruptions"
    if name.startswith("alerts") and name.endswith(".json"):
        return "alerts"
    if name.startswith("junit") and name.endswith(".xml"):
        return "job-runs"
    return None


def _read_run(root: Path, job: JobSetup, run: str) -> _Run:
    folder = root / "logs" / job.name / run
    rel = f"logs/{job.name}/{run}/"
    r = _Run(job.name, run, "unfinished")
    prowjob = _json(folder / "prowjob.json")
    if not isinstance(prowjob, dict):
        r.status = "failed"
        r.problems.append((rel + "prowjob.json", "*"))
        return r
    status = prowjob.get("status", {})
    if not status.get("completionTime"):
        return r
    r.status, r.state = "loaded", status["state"]
    r.start, r.end = _time(status["startTime"]), _time(status["completionTime"])
    r.cluster = prowjob.get("spec", {}).get("cluster", "")
    r.release_tag = prowjob.get("metadata", {}).get("labels", {}).get(ANALYSIS_LABEL, "")
    disruption_files, alert_files = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name, rel_path = path.name, rel + path.relative_to(folder).as_posix()
        uploader = _uploader_of(name)
        if name.startswith("cluster-data") and name.endswith(".json"):
            value = (_json(path) or {}).get("MasterNodesUpdated", "")
            r.master_nodes_updated = value or r.master_nodes_updated
        elif uploader == "disruptions" and job.collect_disruption:
            doc = _json(path)
            if doc is None:
                r.problems.append((rel_path, "disruptions"))
            else:
                disruption_files.append({e["Name"]: go_duration_ns(e["DisruptedDuration"])
                                         for e in doc["BackendDisruptions"].values()})
        elif uploader == "alerts":
            doc = _json(path)
            if doc is None:
                r.problems.append((rel_path, "alerts"))
            else:
                alert_files.append([((a["Name"], a.get("Namespace") or "", a["Level"]), go_duration_ns(a["Duration"]))
                                    for a in doc["Alerts"] or ()])
        elif uploader == "job-runs" and job.collect_test_runs:
            try:
                r.tests += junit_cases(path.read_bytes())
            except ET.ParseError:
                r.problems.append((rel_path, "job-runs"))
    if disruption_files:
        r.disruption = {}
        for per_file in disruption_files:  # ceil per file, then sum
            for backend, ns in per_file.items():
                r.disruption[backend] = r.disruption.get(backend, 0) + math.ceil(ns / 10**9)
    if alert_files:
        totals: dict[tuple[str, str, str], Fraction] = {}
        for per_file in alert_files:  # sum across files, then ceil once
            for key, ns in per_file:
                totals[key] = totals.get(key, Fraction(0)) + ns
        r.alerts = {key: math.ceil(ns / 10**9) for key, ns in totals.items()}
    return r


def _problem_rows(r: _Run, job: JobSetup) -> list[dict[str, Any]]:
    return [{"JobRunName": r.run, "JobName": job.name, "Uploader": uploader, "Path": path, "JobRunStartTime": r.start}
            for path, who in r.problems
            for uploader in job.uploaders
            if who in ("*", uploader)]


# -- comparing with a warehouse ---------------------------------------------------------------------------------

def normal(value: Any) -> Any:
    """One spelling per value across DuckDB and BigQuery (timestamps as UTC ISO text)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def table_columns(name: str, ignored: Sequence[str] = PROBLEM_IGNORED) -> tuple[str, ...]:
    columns = next(t.column_names for t in TABLES if t.name == name)
    return tuple(c for c in columns if name != "LoadProblems" or c not in ignored)


def as_tuples(name: str, rows: Iterable[Mapping[str, Any]], ignored: Sequence[str] = PROBLEM_IGNORED) -> list[tuple]:
    """Rows of table `name` as sorted tuples of every compared column (LoadProblems without `ignored`)."""
    columns = table_columns(name, ignored)
    return sorted((tuple(normal(r.get(c)) for c in columns) for r in rows), key=repr)


def model_tables(model: UploadModel) -> dict[str, list[tuple]]:
    keys = [{"Release": release, "Name": n, "Namespace": ns, "Level": lvl}
            for release, known in model.known.items() for n, ns, lvl in known]
    tables = {**model.tables, "Alerts": model.alert_rows(), "AlertKeys": keys}
    return {name: as_tuples(name, rows) for name, rows in tables.items()}


def warehouse_tables(warehouse: Warehouse, ignored: Sequence[str] = PROBLEM_IGNORED) -> dict[str, list[tuple]]:
    """Every row of every uploaded table (Jobs excluded), as `as_tuples` renders them."""
    return {t.name: as_tuples(t.name, warehouse.query(f"SELECT * FROM `{t.name}`"), ignored)
            for t in TABLES if t.name != "Jobs"}


def natural_key_duplicates(warehouse: Warehouse) -> dict[str, int]:
    """Per table, how many natural keys occur more than once (all zero when loads are exactly once)."""
    out = {}
    for t in TABLES:
        keys = ", ".join(f"`{k}`" for k in t.key)
        rows = warehouse.query(
            f"SELECT COUNT(*) AS n FROM (SELECT {keys} FROM `{t.name}` GROUP BY {keys} HAVING COUNT(*) > 1)")
        out[t.name] = int(rows[0]["n"])
    return out


# -- shaping a bucket folder --------------------------------------------------------------------------------------

def copy_run(src: Path, dst: Path, job: str, run: str) -> None:
    shutil.copytree(src / "logs" / job / run, dst / "logs" / job / run, dirs_exist_ok=True)


def make_unfinished(root: Path, job: str, run: str) -> None:
    """Turn a run into one still in progress: prowjob.json without completionTime, no finished.json, no artifacts."""
    folder = root / "logs" / job / run
    prowjob = json.loads((folder / "prowjob.json").read_bytes())
    del prowjob["status"]["completionTime"]
    prowjob["status"]["state"] = "pending"
    for child in folder.iterdir():
        if child.name not in ("prowjob.json", "started.json"):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    (folder / "prowjob.json").write_text(json.dumps(prowjob, indent=2))


def runs_of(root: Path, job: str) -> list[str]:
    return sorted(p.name for p in (root / "logs" / job).iterdir() if p.is_dir())


# -- setting up a warehouse -----------------------------------------------------------------------------------------

def prepare_warehouse(
    url: str, names: Sequence[str], overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Warehouse:
    """Open `url`, create the tables, prime Jobs from `names`, then rewrite Jobs columns per `overrides[job]`."""
    from job_run_aggregator.jobs.primer import prime_job_table, read_jobs
    from job_run_aggregator.warehouse.base import open_warehouse

    warehouse = open_warehouse(url)
    warehouse.create_tables()
    prime_job_table(warehouse, "\n".join(names))
    if overrides:
        rows = read_jobs(warehouse)
        warehouse.replace("Jobs", [{**rows[job], **changes} for job, changes in overrides.items()])
    return warehouse


def job_setups(warehouse: Warehouse) -> list[JobSetup]:
    """The Jobs rows (the uploads' input) as the model needs them."""
    return [JobSetup(r["JobName"], r["Release"], bool(r["CollectDisruption"]), bool(r["CollectTestRuns"]))
            for r in warehouse.query("SELECT * FROM Jobs")]


def corrupt(path: Path) -> None:
    """Cut a JSON file in half, as an interrupted artifact upload leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def add_phase(run_folder: Path, stamp: str, disruption: str, alert: str) -> None:
    """Add another test phase's files to a run: its first disruption and alerts files again, every duration replaced."""
    first = sorted(run_folder.rglob("backend-disruption_*.json"))[0]
    doc = json.loads(first.read_bytes())
    for entry in doc["BackendDisruptions"].values():
        entry["DisruptedDuration"] = disruption
    (first.parent / f"backend-disruption_{stamp}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    first = sorted(run_folder.rglob("alerts_*.json"))[0]
    doc = json.loads(first.read_bytes())
    for entry in doc["Alerts"]:
        entry["Duration"] = alert
    (first.parent / f"alerts_{stamp}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False))


def tables_at(url: str, ignored: Sequence[str] = PROBLEM_IGNORED) -> dict[str, list[tuple]]:
    """Open the warehouse at `url`, check that no natural key occurs twice, and return every row; then close it."""
    from job_run_aggregator.warehouse.base import open_warehouse

    warehouse = open_warehouse(url)
    try:
        duplicates = {t: n for t, n in natural_key_duplicates(warehouse).items() if n}
        assert not duplicates, f"natural keys loaded more than once: {duplicates}"
        return warehouse_tables(warehouse, ignored)
    finally:
        warehouse.close()
