"""analyze-job-runs end to end with today's rules: every junit test aggregated, planted failing and flaky tests,
and the previous-release fallback (DESIGN §9.1, §9.2)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from servers import REPO
from typer.testing import CliRunner

from job_run_aggregator.aggregation.rules import RULE_NAMES
from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.cli import app
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.pipeline.sample_data import PayloadSpec, generate_sample_data
from job_run_aggregator.warehouse.base import open_warehouse

NOW = datetime(2026, 11, 28, tzinfo=UTC)
FAILING = "[sig-node] static pods should start after being created"  # in the catalog: it has history
FLAKY = "[sig-network] pods should successfully create sandboxes by other"
NEW_FAILING = "[sig-planted] a test the job never ran before"  # no history: held to 70 %
SUITE = "openshift-tests-upgrade"


def build(root: Path, *, previous_runs_per_day: int = 0) -> tuple[str, str, str]:
    """Sample bucket + DuckDB: 12 days of one upgrade job and a 10-run payload with planted tests; optionally the
    previous release's job with many runs. Returns (warehouse URL, job, payload tag)."""
    spec = PayloadSpec(runs=10, failing_tests=(FAILING, NEW_FAILING), flaky_tests=(FLAKY,))
    summary = generate_sample_data(root / "bucket", jobs=1, days=12, now=NOW, seed=1, payload=spec)
    names = list(summary.job_names)
    if previous_runs_per_day:
        older = generate_sample_data(root / "bucket", jobs=1, days=12, now=NOW, seed=2, releases=("4.13", "4.12"),
                                     runs_per_day=(previous_runs_per_day, previous_runs_per_day))
        names += older.job_names
    url = f"duckdb:///{root / 'ci_data.duckdb'}"
    wh = open_warehouse(url)
    try:
        wh.create_tables()
        prime_job_table(wh, "\n".join(names))
        upload(LocalBucket(root / "bucket"), wh, now=lambda: NOW)
    finally:
        wh.close()
    return url, summary.job_names[0], summary.payload_tag


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, str]:
    root = tmp_path_factory.mktemp("planted")
    return (root, *build(root))


def analyze(root: Path, url: str, job: str, tag: str, out: Path, *args: str):
    return CliRunner().invoke(app, ["--warehouse", url, "--bucket", str(root / "bucket"), "analyze-job-runs",
                                    "--job", job, "--payload-tag", tag, "--working-dir", str(out),
                                    "--now", NOW.isoformat(), *args])


def cases(path: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(path).getroot()
    return {(s.get("name"), c.get("name")): c for s in root.iter("testsuite") for c in s.iter("testcase")}


def status(case: ET.Element) -> str:
    return "failed" if case.find("failure") is not None else "skipped" if case.find("skipped") is not None \
        else "passed"


def test_current_rules_fail_the_failing_test_and_pass_the_flaky_one(planted, tmp_path: Path) -> None:
    root, url, job, tag = planted
    result = analyze(root, url, job, tag, tmp_path)  # --rules current is the default
    assert result.exit_code == 1, result.output
    found = cases(tmp_path / "junit-aggregated.xml")
    failing = found[(SUITE, FAILING)]
    assert status(failing) == "failed"
    message = failing.find("failure").get("message")
    assert message.startswith("Passed 0 times, failed 10 times, skipped 0 times: failed (it never passed); working ")
    assert "history" in message and message.count("\n") == 1  # the failed runs' line
    assert status(found[(SUITE, NEW_FAILING)]) == "failed"
    assert "no history in" in found[(SUITE, NEW_FAILING)].find("failure").get("message")
    flaky = found[(SUITE, FLAKY)]
    assert status(flaky) == "passed"
    out = flaky.find("system-out").text
    assert out.startswith("Passed 10 times, failed 0 times, skipped 0 times: passed")
    assert "\nFlaked runs (counted as passed): " in out
    failed = {name for (_, name), case in found.items() if status(case) == "failed"}
    assert failed == {FAILING, NEW_FAILING}, failed
    # every junit test of the runs is aggregated: the catalog's upgrade tests and the nested suite too
    assert (f"{SUITE}|||Cluster upgrade", "[sig-cluster-lifecycle] Cluster completes upgrade") in found
    # disruption under today's rules: no P95 and no zero-disruption testcases, the filter is stated
    names = [name for (suite, name) in found if suite == "BackendDisruption"]
    assert not any("P95" in n or "zero-disruption" in n for n in names)
    assert any(n.endswith("disruption P85 should not be worse") for n in names)
    gate = found[("BackendDisruption", "should collect disruption data")].find("system-out").text
    assert "History filtered to runs with MasterNodesUpdated=" in gate
    assert f"FAILED  {FAILING}" in result.stdout and "(current rules)" in result.stderr
    html = (tmp_path / "aggregated-disruption.html").read_text()
    assert html.index(FAILING) < html.index(FLAKY)  # worst first
    assert 'href="file://' in html  # failed runs linked


def test_2023_02_keeps_p95_and_zero_disruption(planted, tmp_path: Path) -> None:
    root, url, job, tag = planted
    result = analyze(root, url, job, tag, tmp_path, "--rules", "2023-02")
    assert result.exit_code == 1  # the failing test fails in every era
    names = [name for (suite, name) in cases(tmp_path / "junit-aggregated.xml") if suite == "BackendDisruption"]
    assert any(n.endswith("P95 should not be worse") for n in names)
    assert any(n.endswith("zero-disruption should not be worse") for n in names)


def test_informing_test_does_not_fail_today(planted, tmp_path: Path) -> None:
    root, url, job, tag = planted
    result = analyze(root, url, job, tag, tmp_path, "--informing-test", "*static pods*", "--informing-test",
                     "*never ran before")
    assert result.exit_code == 0, result.output
    found = cases(tmp_path / "junit-aggregated.xml")
    assert "informing, not failing the payload" in found[(SUITE, FAILING)].find("system-out").text


def test_unknown_rules_exit_2(planted, tmp_path: Path) -> None:
    root, url, job, tag = planted
    result = analyze(root, url, job, tag, tmp_path, "--rules", "2022")
    assert result.exit_code == 2
    assert "--rules '2022': unknown rule set; choose one of 2023-02, 2023-10, current" in result.output


def test_previous_release_fallback(tmp_path: Path) -> None:
    url, job, tag = build(tmp_path, previous_runs_per_day=20)
    previous = job.replace("4.14", "4.1X").replace("4.13", "4.12").replace("4.1X", "4.13")
    result = analyze(tmp_path, url, job, tag, tmp_path / "out")
    gate = cases(tmp_path / "out" / "junit-aggregated.xml")[("BackendDisruption", "should collect disruption data")]
    text = gate.find("system-out").text
    assert f"Using previous release historical data from job: {previous} (" in text, text
    assert f"history from {previous}" in result.stderr
    # the 2023-02 rules had no fallback; --history-job names one explicitly
    analyze(tmp_path, url, job, tag, tmp_path / "old", "--rules", "2023-02")
    old = cases(tmp_path / "old" / "junit-aggregated.xml")[("BackendDisruption", "should collect disruption data")]
    assert "previous release" not in old.find("system-out").text
    analyze(tmp_path, url, job, tag, tmp_path / "explicit", "--rules", "2023-02", "--history-job", previous)
    explicit = cases(tmp_path / "explicit" / "junit-aggregated.xml")
    assert f"Using historical data from job: {previous} (--history-job)." in \
        explicit[("BackendDisruption", "should collect disruption data")].find("system-out").text


def test_a_broken_junit_file_is_reported_and_the_other_runs_still_count(planted, tmp_path: Path) -> None:
    root, url, job, tag = planted
    copy = tmp_path / "copy"
    shutil.copytree(root / "bucket", copy / "bucket")
    files = sorted((copy / "bucket" / "logs" / job).glob("*/artifacts/*/*/artifacts/junit/junit_e2e_*.xml"))
    payload_files = [p for p in files if "flaked" in p.read_text()]
    victim = payload_files[0]
    victim.write_bytes(victim.read_bytes()[:200])  # cut mid-element
    result = analyze(copy, url, job, tag, tmp_path / "out")
    relative = victim.relative_to(copy / "bucket").as_posix()
    assert f"{relative}: not well-formed XML" in result.stderr
    flaky = cases(tmp_path / "out" / "junit-aggregated.xml")[(SUITE, FLAKY)]
    assert flaky.find("system-out").text.startswith("Passed 9 times, failed 0 times")


def test_readme_documents_every_era() -> None:
    readme = (REPO / "README.md").read_text()
    header = next(line for line in readme.splitlines() if line.startswith("| rule |"))
    assert all(f"`{name}`" in header for name in RULE_NAMES)
