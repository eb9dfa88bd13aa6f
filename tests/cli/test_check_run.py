"""check-run end to end: sample bucket → DuckDB → exported files → one run judged as origin would, junit included."""

from __future__ import annotations

import json
import math
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.cli import app
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.artifacts.parse.durations import parse_duration_seconds
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.pipeline.sample_data import generate_sample_data
from job_run_aggregator.warehouse.base import open_warehouse

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
JOB = "periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade"
VARIANT = {"Release": "4.14", "FromRelease": "4.13", "Platform": "aws", "Architecture": "amd64", "Network": "ovn",
           "Topology": "ha"}


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@dataclass(frozen=True)
class Sample:
    bucket: Path
    backend_file: Path
    alerts_file: Path
    p99: dict[str, float]  # this job's variant, from the exported backend file


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("check-run")
    summary = generate_sample_data(root / "bucket", jobs=1, days=21, now=NOW, seed=5)
    assert summary.job_names == (JOB,)
    url = f"duckdb:///{root / 'ci_data.duckdb'}"
    wh = open_warehouse(url)
    try:
        wh.create_tables()
        prime_job_table(wh, JOB)
        upload(LocalBucket(root / "bucket"), wh, now=lambda: NOW)
    finally:
        wh.close()
    files = {"disruptions": root / "backend_query_results.json", "alerts": root / "alerts_query_results.json"}
    for data_type, path in files.items():
        result = run("--warehouse", url, "export-historical-data", "--data-type", data_type, "--release", "4.14",
                     "--now", NOW.isoformat(), "--min-job-runs", "10", "--out", str(path))
        assert result.exit_code == 0, result.output
    rows = json.loads(files["disruptions"].read_bytes())
    p99 = {r["BackendName"]: float(r["P99"]) for r in rows if all(r[k] == v for k, v in VARIANT.items())}
    assert p99
    return Sample(root / "bucket", files["disruptions"], files["alerts"], p99)


def disruption_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.rglob("backend-disruption*.json"))


def observed_seconds(run_dir: Path) -> dict[str, int]:
    """§3.1: ceil per file, summed over the run's files, keyed by the entry's Name."""
    totals: dict[str, int] = {}
    for path in disruption_files(run_dir):
        for entry in json.loads(path.read_bytes())["BackendDisruptions"].values():
            seconds = math.ceil(parse_duration_seconds(entry["DisruptedDuration"]))
            totals[entry["Name"]] = totals.get(entry["Name"], 0) + seconds
    return totals


def origin_test_names(run_dir: Path) -> set[str]:
    """origin's testcase names, built from each entry's BackendName and ConnectionType."""
    return {
        f"disruption/{entry['BackendName']} connection/{entry['ConnectionType'].lower()} should be available "
        "throughout the test"
        for path in disruption_files(run_dir)
        for entry in json.loads(path.read_bytes())["BackendDisruptions"].values()
    }


@pytest.fixture(scope="module")
def ordinary_run(sample: Sample) -> Path:
    """A run with some disruption, none of it above the exported P99 of its variant."""
    for run_dir in sorted((sample.bucket / "logs" / JOB).iterdir()):
        if not run_dir.is_dir() or not disruption_files(run_dir):
            continue
        seen = observed_seconds(run_dir)
        if sum(seen.values()) > 0 and all(seen[b] <= sample.p99[b] for b in seen):
            return run_dir
    raise AssertionError("the sample has no run within P99 on every backend")


def junit_cases(path: Path) -> dict[str, ET.Element]:
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite" and suite.get("name") == "BackendDisruption"
    return {case.get("name"): case for case in suite.iter("testcase")}


def test_a_run_within_history_passes(sample: Sample, ordinary_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    result = run("check-run", "--data", str(sample.backend_file), "--run", str(ordinary_run), "--junit", str(out),
                 "--min-job-runs", "10")
    assert result.exit_code == 0, result.output
    # The JobType comes from the run's prowjob.json.
    assert result.stdout.splitlines()[0] == f"{JOB} [4.14 from 4.13 aws amd64 ovn ha], current rules"
    seen = observed_seconds(ordinary_run)
    cases = junit_cases(out)
    assert set(cases) == origin_test_names(ordinary_run)
    assert len(cases) == len(seen)
    for backend, seconds in seen.items():
        base, connection = backend.removesuffix("-connections").rsplit("-", 1)
        case = cases[f"disruption/{base} connection/{connection} should be available throughout the test"]
        assert case.find("failure") is None and case.find("skipped") is None
        reason = case.find("system-out").text
        assert reason.startswith(f"observed {seconds}s ≤ allowed ")
        assert f"matched {backend} [4.14 from 4.13 aws amd64 ovn ha]" in reason
    assert f"check-run: {len(seen)} pass" in result.stderr


def test_json_verdicts_include_alerts(sample: Sample, ordinary_run: Path) -> None:
    result = run("check-run", "--data", str(sample.backend_file), "--alerts-data", str(sample.alerts_file),
                 "--run", str(ordinary_run), "--min-job-runs", "10", "--json")
    verdicts = json.loads(result.stdout)
    alerts = [v for v in verdicts if v["kind"] == "alert"]
    assert alerts and all(v["status"] in ("pass", "flake", "fail") for v in alerts)
    for v in alerts:
        assert v["test_name"] == (f"alert/{v['name']} should not be at or above {v['level'].lower()} "
                                  f"in ns/{v['namespace']}")
        match = v["match"]
        expected = "fail" if v["observed"] > match["p99"] else "flake" if v["observed"] > match["p95"] else "pass"
        assert v["status"] == expected
    assert result.exit_code == (1 if any(v["status"] == "fail" for v in verdicts) else 0)


@pytest.fixture(scope="module")
def disrupted_run(ordinary_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the ordinary run whose first backend-disruption file says kube-api new connections lost 10m0s."""
    copy = tmp_path_factory.mktemp("disrupted") / ordinary_run.name
    shutil.copytree(ordinary_run, copy)
    first = disruption_files(copy)[0]
    document = json.loads(first.read_bytes())
    document["BackendDisruptions"]["kube-api-new-connections"]["DisruptedDuration"] = "10m0s"
    first.write_text(json.dumps(document, indent=2))
    return copy


def test_a_huge_disruption_fails(sample: Sample, ordinary_run: Path, disrupted_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    result = run("check-run", "--data", str(sample.backend_file), "--run", str(disrupted_run), "--junit", str(out),
                 "--min-job-runs", "10")
    assert result.exit_code == 1, result.output
    seconds = observed_seconds(disrupted_run)["kube-api-new-connections"]
    assert seconds >= 600
    cases = junit_cases(out)
    name = "disruption/kube-api connection/new should be available throughout the test"
    assert {n for n, case in cases.items() if case.find("failure") is not None} == {name}
    assert cases[name].find("failure").get("message").startswith(f"observed {seconds}s > allowed ")
    assert f"FAIL  {name}" in result.stdout
    assert "check-run: 1 fail" in result.stderr


@pytest.mark.emulator
def test_a_run_in_gcs(sample: Sample, disrupted_run: Path, gcs_server, tmp_path: Path) -> None:
    data = tmp_path / "gcs"
    shutil.copytree(disrupted_run, data / "ci-bucket" / "logs" / JOB / disrupted_run.name)
    gcs_server(data)
    local, remote = tmp_path / "local.xml", tmp_path / "remote.xml"
    args = ["check-run", "--data", str(sample.backend_file), "--min-job-runs", "10"]
    assert run(*args, "--run", str(disrupted_run), "--junit", str(local)).exit_code == 1
    result = run(*args, "--run", f"gs://ci-bucket/logs/{JOB}/{disrupted_run.name}", "--junit", str(remote))
    assert result.exit_code == 1, result.output
    assert remote.read_bytes() == local.read_bytes()
    assert result.stdout.splitlines()[0] == f"{JOB} [4.14 from 4.13 aws amd64 ovn ha], current rules"


def test_job_type_flags_override_the_prowjob(sample: Sample, ordinary_run: Path) -> None:
    # No exported row for this variant and no previous release in the file: every backend is skipped.
    result = run("check-run", "--data", str(sample.backend_file), "--run", str(ordinary_run), "--release", "4.14",
                 "--platform", "gcp", "--architecture", "amd64", "--network", "sdn", "--topology", "ha", "--json")
    assert result.exit_code == 0, result.output
    verdicts = json.loads(result.stdout)
    assert verdicts and {v["status"] for v in verdicts} == {"skip"}
    assert all("no exact or fuzzy match for jobType=platformidentification.JobType{Release:\"4.14\", "
               "FromRelease:\"\", Platform:\"gcp\"" in v["reason"] for v in verdicts)


@pytest.mark.parametrize(
    ("remove", "code", "message"),
    [
        pytest.param("prowjob.json", 3, "cannot tell the job: prowjob.json unreadable; pass --job or the "
                     "JobType flags", id="no-prowjob"),
        pytest.param(None, 3, "run folder not found", id="no-folder"),
    ],
)
def test_unusable_runs(sample: Sample, ordinary_run: Path, tmp_path: Path, remove: str | None, code: int,
                       message: str) -> None:
    target = tmp_path / "run"
    if remove:
        shutil.copytree(ordinary_run, target)
        (target / remove).unlink()
    result = run("check-run", "--data", str(sample.backend_file), "--run", str(target))
    assert result.exit_code == code, result.output
    assert f"error: {target}: {message}" in result.stderr
