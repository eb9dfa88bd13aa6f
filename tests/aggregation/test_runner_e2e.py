"""analyze-job-runs end to end: a sample bucket with one payload's runs + the job's history in DuckDB (DESIGN §9)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.aggregation.runner import RunSelector, analyze_job_runs
from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.artifacts.parse.durations import parse_duration_seconds
from job_run_aggregator.cli import app
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.pipeline.sample_data import PayloadSpec, generate_sample_data
from job_run_aggregator.warehouse.base import open_warehouse

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
CHECKS = (
    "{} mean disruption should be less than historical plus five standard deviations",
    "{} disruption P70 should not be worse",
    "{} disruption P85 should not be worse",
    "{} disruption P95 should not be worse",
    "{} zero-disruption should not be worse",
)
COLLECT = "should collect disruption data"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@dataclass(frozen=True)
class Payload:
    bucket: Path
    warehouse: str
    job: str
    tag: str
    aggregation_id: str
    run_ids: tuple[str, ...]  # every run of the payload, sorted
    finished: tuple[str, ...]

    def analyze(self, out: Path, *args: str):
        # These tests pin the early-2023 disruption checks §9 describes; test_junit_e2e.py covers the other eras.
        era = () if "--rules" in args else ("--rules", "2023-02")
        return run("--warehouse", self.warehouse, "--bucket", str(self.bucket), "analyze-job-runs", "--job", self.job,
                   "--working-dir", str(out), "--now", NOW.isoformat(), *era, *args)

    def run_dir(self, run_id: str) -> Path:
        return self.bucket / "logs" / self.job / run_id


def make_payload(root: Path, spec: PayloadSpec) -> Payload:
    """Write 12 days of one upgrade job plus the payload's runs, and load the history into DuckDB."""
    summary = generate_sample_data(root / "bucket", jobs=1, days=12, now=NOW, seed=1, payload=spec)
    (job,) = summary.job_names
    url = f"duckdb:///{root / 'ci_data.duckdb'}"
    wh = open_warehouse(url)
    try:
        wh.create_tables()
        prime_job_table(wh, job)
        upload(LocalBucket(root / "bucket"), wh, now=lambda: NOW)
    finally:
        wh.close()
    runs, finished = [], []
    for run_dir in sorted((root / "bucket" / "logs" / job).iterdir()):
        if not run_dir.is_dir():
            continue
        prowjob = json.loads((run_dir / "prowjob.json").read_bytes())
        if prowjob["metadata"]["annotations"].get("release.openshift.io/tag") == summary.payload_tag:
            runs.append(run_dir.name)
            if prowjob["status"].get("completionTime"):
                finished.append(run_dir.name)
    assert len(runs) == spec.runs
    return Payload(root / "bucket", url, job, summary.payload_tag, summary.aggregation_id, tuple(runs),
                   tuple(finished))


@pytest.fixture(scope="module")
def calm(tmp_path_factory: pytest.TempPathFactory) -> Payload:
    """Ten finished runs drawn like the job's history."""
    return make_payload(tmp_path_factory.mktemp("calm"), PayloadSpec(runs=10, disruption_factor=1))


@pytest.fixture(scope="module")
def disrupted(tmp_path_factory: pytest.TempPathFactory) -> Payload:
    """Ten finished runs with four times the usual disruption."""
    return make_payload(tmp_path_factory.mktemp("disrupted"), PayloadSpec(runs=10, disruption_factor=4))


@pytest.fixture(scope="module")
def half_done(tmp_path_factory: pytest.TempPathFactory) -> Payload:
    """Ten runs started 3.3 h ago: upgrades take 2.5 to 4 h, so some are still running."""
    payload = make_payload(tmp_path_factory.mktemp("half-done"), PayloadSpec(runs=10, hours_ago=3.3))
    assert 3 <= len(payload.finished) < len(payload.run_ids)
    return payload


def observed(payload: Payload, run_id: str) -> dict[str, int]:
    """§3.1: ceil per file, summed over the run's files."""
    totals: dict[str, int] = {}
    for path in sorted(payload.run_dir(run_id).rglob("backend-disruption*.json")):
        for entry in json.loads(path.read_bytes())["BackendDisruptions"].values():
            totals[entry["Name"]] = totals.get(entry["Name"], 0) + math.ceil(
                parse_duration_seconds(entry["DisruptedDuration"]))
    return totals


def suite(path: Path) -> ET.Element:
    """The BackendDisruption suite: the first of `<testsuites>`, beside one suite per junit suite aggregated."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    first = root.find("testsuite")
    assert first is not None and first.get("name") == "BackendDisruption"
    return first


def statuses(root: ET.Element) -> dict[str, str]:
    def status(case: ET.Element) -> str:
        return "failed" if case.find("failure") is not None else "skipped" if case.find("skipped") is not None \
            else "passed"

    return {case.get("name"): status(case) for case in root.iter("testcase")}


def test_calm_payload_passes(calm: Payload, tmp_path: Path) -> None:
    result = calm.analyze(tmp_path, "--payload-tag", calm.tag)
    assert result.exit_code == 0, result.output
    root = suite(tmp_path / "junit-aggregated.xml")
    backends = sorted(observed(calm, calm.run_ids[0]))
    assert len(backends) == 20
    cases = statuses(root)
    assert list(cases) == [COLLECT, *(check.format(b) for b in backends for check in CHECKS)]
    assert "failed" not in cases.values()
    assert root.get("tests") == str(len(cases)) and root.get("failures") == "0"
    assert root.get("skipped") == str(list(cases.values()).count("skipped"))
    gate = root.find("testcase").find("system-out").text
    assert gate == f"10 runs reported disruption data ({', '.join(calm.run_ids)})."

    html = (tmp_path / "aggregated-disruption.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert all(b in html for b in backends) and calm.tag in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"?https?://", html)  # self-contained
    assert f"payload {calm.tag}: 10/10 runs finished" in result.stderr
    passed = list(cases.values()).count("passed")
    skipped = list(cases.values()).count("skipped")
    tests = len(ET.parse(tmp_path / "junit-aggregated.xml").getroot()) - 1  # one suite per junit suite
    assert tests >= 1
    assert re.search(
        rf"analyze-job-runs: 10 runs, checks {passed} passed, 0 failed, {skipped} skipped; junit tests \d+ "
        rf"aggregated, 0 failed \(2023-02 rules\); wrote {re.escape(str(tmp_path / 'junit-aggregated.xml'))} and "
        rf"{re.escape(str(tmp_path / 'aggregated-disruption.html'))}", result.stderr)


def test_disrupted_payload_fails_with_the_runs_listed(disrupted: Payload, tmp_path: Path) -> None:
    result = disrupted.analyze(tmp_path, "--payload-tag", disrupted.tag)
    assert result.exit_code == 1, result.output
    root = suite(tmp_path / "junit-aggregated.xml")
    failures = {case.get("name"): case.find("failure").get("message")
                for case in root.iter("testcase") if case.find("failure") is not None}
    assert len(failures) >= 10 and root.get("failures") == str(len(failures))
    seen = {run_id: observed(disrupted, run_id) for run_id in disrupted.run_ids}
    for name, message in failures.items():
        backend = name.split(" ")[0]
        listed = re.findall(r"\b(\d{19})=(\d+(?:\.\d+)?)s\b", message)
        assert listed, message
        # Every run listed with its own seconds for this backend.
        assert all(float(seconds) == seen[run_id][backend] for run_id, seconds in listed), message
        if " P" in name or "zero-disruption" in name:
            assert {run_id for run_id, _ in listed} == set(disrupted.run_ids), message
        assert f"FAILED  {name}" in result.stdout
    assert any(name.endswith("disruption P95 should not be worse") for name in failures)
    html = (tmp_path / "aggregated-disruption.html").read_text()
    assert all(name.split(" ")[0] in html for name in failures)


def test_aggregation_id_and_run_ids_select_the_same_runs(calm: Payload, tmp_path: Path) -> None:
    by_tag = calm.analyze(tmp_path / "tag", "--payload-tag", calm.tag)
    by_id = calm.analyze(tmp_path / "id", "--aggregation-id", calm.aggregation_id)
    by_runs = calm.analyze(tmp_path / "runs", "--run-ids", ",".join(reversed(calm.run_ids)))
    assert by_tag.exit_code == by_id.exit_code == by_runs.exit_code == 0
    junit = (tmp_path / "tag" / "junit-aggregated.xml").read_bytes()
    assert (tmp_path / "id" / "junit-aggregated.xml").read_bytes() == junit
    assert (tmp_path / "runs" / "junit-aggregated.xml").read_bytes() == junit
    assert f"aggregation {calm.aggregation_id}: 10/10 runs finished" in by_id.stderr


def test_some_run_ids(calm: Payload, tmp_path: Path) -> None:
    three = calm.run_ids[2:5]
    result = calm.analyze(tmp_path, "--run-ids", ",".join(three))
    # The disruption suite passes; every junit test fails: §9.2 wants at least 6 attempts.
    assert result.exit_code == 1, result.output
    root = suite(tmp_path / "junit-aggregated.xml")
    assert root.get("failures") == "0"
    assert "at least 6 attempts are required" in result.stdout
    assert root.find("testcase").find("system-out").text == f"3 runs reported disruption data ({', '.join(three)})."
    assert "analyze-job-runs: 3 runs," in result.stderr


def test_fewer_than_three_runs_fail_the_gate(calm: Payload, tmp_path: Path) -> None:
    two = calm.run_ids[:2]
    result = calm.analyze(tmp_path, "--run-ids", ",".join(two))
    assert result.exit_code == 1
    cases = list(suite(tmp_path / "junit-aggregated.xml").iter("testcase"))
    assert [c.get("name") for c in cases] == [COLLECT]
    assert cases[0].find("failure").get("message") == (
        f"Only 2 runs reported disruption data ({', '.join(two)}); at least 3 are required, so no backend was judged.")


@pytest.mark.parametrize(
    ("patterns", "gone", "kept"),
    [
        pytest.param(["kube-api-*"], {"kube-api-new-connections", "kube-api-reused-connections"},
                     {"cache-kube-api-new-connections"}, id="glob-anchored"),
        pytest.param(["*-reused-connections", "image-registry-*"],
                     {"kube-api-reused-connections", "image-registry-new-connections"},
                     {"kube-api-new-connections"}, id="two-globs"),
        pytest.param(["re:^ingress-to-(console|oauth-server)-new"], {"ingress-to-console-new-connections"},
                     {"ingress-to-console-reused-connections"}, id="regex"),
    ],
)
def test_exclude_backend(calm: Payload, tmp_path: Path, patterns: list[str], gone: set[str], kept: set[str]) -> None:
    args = [a for p in patterns for a in ("--exclude-backend", p)]
    result = calm.analyze(tmp_path, "--payload-tag", calm.tag, *args)
    assert result.exit_code == 0, result.output
    judged = {name.split(" ")[0] for name in statuses(suite(tmp_path / "junit-aggregated.xml")) if name != COLLECT}
    assert judged.isdisjoint(gone) and kept <= judged


def test_timeout_judges_the_finished_runs_and_reports_the_rest(half_done: Payload, tmp_path: Path) -> None:
    result = half_done.analyze(tmp_path, "--payload-tag", half_done.tag, "--timeout", "1s", "--poll-interval", "1s")
    unfinished = sorted(set(half_done.run_ids) - set(half_done.finished))
    assert f"not finished in time (not judged): {', '.join(unfinished)}" in result.stderr
    assert f"payload {half_done.tag}: {len(half_done.finished)}/10 runs finished" in result.stderr
    root = suite(tmp_path / "junit-aggregated.xml")
    with_data = [r for r in half_done.finished if observed(half_done, r)]
    gate = root.find("testcase")
    assert gate.get("name") == COLLECT
    assert f"({', '.join(with_data)})" in ET.tostring(gate, encoding="unicode")
    document = ET.parse(tmp_path / "junit-aggregated.xml").getroot()
    assert result.exit_code == (1 if document.get("failures") != "0" else 0)


def test_waiting_polls_until_every_run_finished(half_done: Payload, tmp_path: Path) -> None:
    """The runs finish while the analysis waits: the poll after the sleep sees them all finished."""
    # A copy: the module's bucket keeps its unfinished runs for the other tests.
    shutil.copytree(half_done.bucket, tmp_path / "bucket")
    half_done = dataclasses.replace(half_done, bucket=tmp_path / "bucket")
    polls: list[tuple[int, int]] = []

    def finish_the_runs(seconds: float) -> None:
        assert seconds == 60.0
        for run_id in set(half_done.run_ids) - set(half_done.finished):
            path = half_done.run_dir(run_id) / "prowjob.json"
            prowjob = json.loads(path.read_bytes())
            prowjob["status"].update(state="success", completionTime="2026-11-27T23:59:00Z")
            path.write_text(json.dumps(prowjob))

    wh = open_warehouse(half_done.warehouse, read_only=True)
    try:
        analysis = analyze_job_runs(
            LocalBucket(half_done.bucket), wh, half_done.job, RunSelector(payload_tag=half_done.tag), tmp_path / "out",
            now=NOW, on_wait=lambda finished, total, waited: polls.append((finished, total)), sleep=finish_the_runs,
        )
    finally:
        wh.close()
    assert polls == [(len(half_done.finished), 10), (10, 10)]
    assert analysis.unfinished == []
    assert sorted(r.run_id for r in analysis.runs) == list(half_done.run_ids)
    assert (tmp_path / "out" / "junit-aggregated.xml").exists()
