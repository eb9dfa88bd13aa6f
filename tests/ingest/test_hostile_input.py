"""Hostile bucket contents (issue 15): what data can do to log lines, the listing start and the recorded problems."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ingest.upload_model import prepare_warehouse, runs_of
from typer.testing import CliRunner

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.artifacts.runs import EARLIEST_RUN, build_id_problem
from job_run_aggregator.cli import app
from job_run_aggregator.errors import one_line
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
NAMES = sample_job_names(2)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 jobs x 2 days, read-only: tests copy it."""
    root = tmp_path_factory.mktemp("hostile") / "bucket"
    generate_sample_data(root, jobs=2, days=2, seed=3, now=NOW)
    return root


@pytest.fixture
def bucket(tmp_path: Path, sample: Path) -> Path:
    shutil.copytree(sample, tmp_path / "bucket")
    return tmp_path / "bucket"


def cli(url: str, bucket: Path, *args: str):
    return CliRunner().invoke(app, ["--warehouse", url, "--bucket", str(bucket), *args])


# -- finding 6: log forging ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("control", ["\n", "\r", "\x1b[2K\r", "\u2028", "\x85"])
def test_a_control_character_in_an_artifact_name_cannot_forge_a_log_line(bucket, duckdb_url, control):
    job = NAMES[0]
    run = runs_of(bucket, job)[2]
    junit = next((bucket / "logs" / job / run).rglob("backend-disruption_*.json")).parent
    forged = f"backend-disruption_\"q'{control}error: FORGED LINE.json"
    (junit / forged).write_text("{not json")
    prepare_warehouse(duckdb_url, NAMES).close()

    result = cli(duckdb_url, bucket, "--log-level", "INFO", "upload-all")

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert not [line for line in lines if "FORGED" in line and not line.startswith("20")], lines
    escaped = one_line(f"backend-disruption_\"q'{control}error: FORGED LINE.json")
    assert any(escaped in line and "WARNING" in line for line in lines), result.stderr
    assert all(c.isprintable() for c in result.stderr.replace("\n", "")), repr(result.stderr)


def test_one_line_escapes_every_control_character_and_keeps_the_rest():
    assert one_line("plain – text, é, 日本") == "plain – text, é, 日本"
    assert one_line("a\nb\rc\td\x00e\x1bf\x7fg\x85h\u2028i\u202ej\ud800k") == (
        "a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x85h\\u2028i\\u202ej\\ud800k")


# -- finding 1: only build ids set the listing start ---------------------------------------------------------------


def _set_times(run_dir: Path, start: str | None = None, end: str | None = None) -> None:
    doc = json.loads((run_dir / "prowjob.json").read_bytes())
    if start is not None:
        doc["status"]["startTime"] = start
    if end is not None:
        doc["status"]["completionTime"] = end
    (run_dir / "prowjob.json").write_text(json.dumps(doc))


def _problems(wh, run: str) -> list[tuple[str, str, str]]:
    rows = wh.query("SELECT Uploader, Path, Reason FROM LoadProblems WHERE JobRunName = @run", {"run": run})
    return sorted((r["Uploader"], r["Path"], r["Reason"]) for r in rows)


@pytest.mark.parametrize("odd", ["latest", "zzz-not-a-number", "99999999999999999999", "0001", "160179610410400000"])
def test_a_folder_that_is_not_a_build_id_never_moves_the_listing_start(bucket, duckdb_url, odd):
    job = NAMES[0]
    runs = runs_of(bucket, job)
    newest_two = runs[-3:-1]  # the very last run is unfinished
    parked = bucket.parent / "parked"
    for run in newest_two:
        shutil.move(bucket / "logs" / job / run, parked / run)
    shutil.copytree(bucket / "logs" / job / runs[0], bucket / "logs" / job / odd)  # a valid, old prowjob
    wh = prepare_warehouse(duckdb_url, NAMES)

    first = upload(open_bucket(str(bucket)), wh, now=lambda: NOW)
    assert [str(p) for p in first.problems if odd in p.path] == [
        f"logs/{job}/{odd}/: " + build_id_problem(odd, len(runs[0]))]
    assert wh.query("SELECT COUNT(*) AS n FROM JobRuns WHERE Name = @odd", {"odd": odd}) == [{"n": 0}]
    assert [u for u, _, _ in _problems(wh, odd)] == ["alerts", "disruptions", "job-runs"]
    for run in newest_two:  # newer runs arrive
        shutil.move(parked / run, bucket / "logs" / job / run)

    second = upload(open_bucket(str(bucket)), wh, now=lambda: NOW)

    assert second.loaded == 2 and not [p for p in second.problems if odd in p.path]  # reported once
    loaded = {r["Name"] for r in wh.query("SELECT Name FROM JobRuns WHERE JobName = @job", {"job": job})}
    assert set(newest_two) <= loaded
    wh.close()


# -- finding 2: times outside [2000, now + 1 day] or ending before they start are problems, not data -------------


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        pytest.param("2099-01-01T00:00:00Z", None,
                     "start time 2099-01-01T00:00:00Z is more than a day after now (2026-11-20T12:00:00Z)",
                     id="start-2099"),
        pytest.param("1960-01-01T00:00:00Z", None, "start time 1960-01-01T00:00:00Z is before 2000", id="start-1960"),
        pytest.param("0001-01-01T00:00:00Z", None, "start time 0001-01-01T00:00:00Z is before 2000", id="start-0001"),
        pytest.param(None, "2026-11-21T12:00:01Z",
                     "end time 2026-11-21T12:00:01Z is more than a day after now (2026-11-20T12:00:00Z)",
                     id="end-after-tomorrow"),
        pytest.param("2026-11-19T10:00:00Z", "2026-11-19T09:59:59Z",
                     "ends (2026-11-19T09:59:59Z) before it starts (2026-11-19T10:00:00Z)", id="end-before-start"),
    ],
)
def test_an_impossible_time_on_the_newest_run_is_a_load_problem_and_late_runs_still_load(
        bucket, duckdb_url, start, end, reason):
    job = NAMES[0]
    runs = [r for r in runs_of(bucket, job)
            if json.loads((bucket / "logs" / job / r / "prowjob.json").read_bytes())["status"].get("completionTime")]
    liar, late = runs[-1], runs[-3]
    _set_times(bucket / "logs" / job / liar, start, end)
    good = (bucket / "logs" / job / late / "prowjob.json").read_bytes()
    doc = json.loads(good)
    doc["status"]["completionTime"] = None  # still running while the others load
    (bucket / "logs" / job / late / "prowjob.json").write_text(json.dumps(doc))
    wh = prepare_warehouse(duckdb_url, NAMES)

    first = upload(open_bucket(str(bucket)), wh, now=lambda: NOW)

    path = f"logs/{job}/{liar}/prowjob.json"
    assert f"{path}: {reason}; run not loaded" in [str(p) for p in first.problems]
    assert first.failed == 1
    assert _problems(wh, liar) == [(k, path, f"{reason}; run not loaded") for k in ("alerts", "disruptions",
                                                                                      "job-runs")]
    assert wh.query("SELECT COUNT(*) AS n FROM JobRuns WHERE Name = @r", {"r": liar}) == [{"n": 0}]
    newest = wh.query("SELECT MAX(StartTime) AS t FROM JobRuns")[0]["t"]
    assert EARLIEST_RUN <= newest <= NOW
    (bucket / "logs" / job / late / "prowjob.json").write_bytes(good)  # the late run finishes

    second = upload(open_bucket(str(bucket)), wh, now=lambda: NOW)

    assert wh.query("SELECT COUNT(*) AS n FROM JobRuns WHERE Name = @r", {"r": late}) == [{"n": 1}]
    assert second.failed == 1  # the liar is re-read and still refused
    wh.close()


# -- finding 7: what was skipped silently is recorded ----------------------------------------------------------------


def test_a_prowjob_of_another_job_is_recorded_and_not_loaded(bucket, duckdb_url):
    job, other = NAMES
    run = runs_of(bucket, job)[1]
    doc = json.loads((bucket / "logs" / job / run / "prowjob.json").read_bytes())
    doc["spec"]["job"] = other
    (bucket / "logs" / job / run / "prowjob.json").write_text(json.dumps(doc))
    wh = prepare_warehouse(duckdb_url, NAMES)
    summary = upload(open_bucket(str(bucket)), wh, now=lambda: NOW)
    reason = f'spec.job is "{other}", not this job "{job}"; run not loaded'
    assert summary.failed == 1
    assert _problems(wh, run) == [(k, f"logs/{job}/{run}/prowjob.json", reason)
                                  for k in ("alerts", "disruptions", "job-runs")]
    assert wh.query("SELECT COUNT(*) AS n FROM JobRuns WHERE Name = @r", {"r": run}) == [{"n": 0}]
    wh.close()


def test_a_symlinked_artifacts_folder_is_recorded_for_the_run(bucket, duckdb_url):
    job = NAMES[0]
    run = runs_of(bucket, job)[1]
    artifacts = bucket / "logs" / job / run / "artifacts"
    shutil.move(artifacts, bucket.parent / "elsewhere")
    os.symlink(bucket.parent / "elsewhere", artifacts)
    wh = prepare_warehouse(duckdb_url, NAMES)
    upload(open_bucket(str(bucket)), wh, now=lambda: NOW)
    reason = "symlink to outside the bucket folder; not read"
    assert _problems(wh, run) == [(k, f"logs/{job}/{run}/artifacts", reason)
                                  for k in ("alerts", "disruptions", "job-runs")]
    wh.close()


def _first(bucket: Path, job: str, pattern: str) -> tuple[str, Path]:
    for run in runs_of(bucket, job)[1:]:
        found = sorted((bucket / "logs" / job / run).rglob(pattern))
        if found and json.loads((bucket / "logs" / job / run / "prowjob.json").read_bytes())["status"].get(
                "completionTime"):
            return run, found[0]
    raise AssertionError(pattern)


def test_duplicate_json_keys_make_the_file_a_recorded_problem(bucket, duckdb_url):
    job = NAMES[0]
    run, path = _first(bucket, job, "backend-disruption_*.json")
    text = path.read_text()
    doc = json.loads(text)
    name, entry = next(iter(doc["BackendDisruptions"].items()))
    # The same backend twice: a decoder that keeps the last silently drops the first entry's seconds.
    dup = json.dumps({**entry, "DisruptedDuration": "9s"})
    path.write_text(text.replace('"BackendDisruptions": {', f'"BackendDisruptions": {{"{name}": {dup},', 1))
    wh = prepare_warehouse(duckdb_url, NAMES)
    upload(open_bucket(str(bucket)), wh, now=lambda: NOW)
    rel = path.relative_to(bucket).as_posix()
    assert _problems(wh, run) == [("disruptions", rel, f'duplicate key "{name}" in one object; the file is '
                                                        "ambiguous, not read")]
    wh.close()


def test_a_nul_character_in_a_name_makes_the_file_a_recorded_problem(bucket, duckdb_url):
    job = NAMES[0]
    run, path = _first(bucket, job, "alerts_*.json")
    doc = json.loads(path.read_bytes())
    doc["Alerts"].append({"Name": "Watch\x00dog", "Namespace": "", "Level": "Info", "Duration": "1s"})
    path.write_text(json.dumps(doc))
    wh = prepare_warehouse(duckdb_url, NAMES)
    upload(open_bucket(str(bucket)), wh, now=lambda: NOW)
    index = len(doc["Alerts"]) - 1
    assert _problems(wh, run) == [("alerts", path.relative_to(bucket).as_posix(),
                                   f"Alerts[{index}].Name contains a NUL character")]
    assert not wh.query("SELECT Name FROM Alerts WHERE Name LIKE 'Watch%'")
    wh.close()


def test_alert_seconds_beyond_int64_nanoseconds_are_a_recorded_problem(bucket, duckdb_url):
    job = NAMES[0]
    run, path = _first(bucket, job, "alerts_*.json")
    doc = json.loads(path.read_bytes())
    huge = {"Name": "Forever", "Namespace": "openshift-x", "Level": "Critical", "Duration": "2562047h"}
    doc["Alerts"].append(huge)
    path.write_text(json.dumps(doc))
    for i in range(3):  # four files, each within Go's range, together 36,893,476,800 s
        (path.parent / f"alerts_2026111{i}-000000.json").write_text(json.dumps({"Alerts": [huge]}))
    wh = prepare_warehouse(duckdb_url, NAMES)
    upload(open_bucket(str(bucket)), wh, now=lambda: NOW)
    first = sorted(p.relative_to(bucket).as_posix() for p in path.parent.glob("alerts_*.json"))[0]
    assert _problems(wh, run) == [("alerts", first, "alert Forever (openshift-x, Critical) lasts 36893476800 s "
                                                    "summed over the run's files, beyond an int64 of nanoseconds; "
                                                    "alert not loaded")]
    assert wh.query("SELECT COUNT(*) AS n FROM Alerts WHERE Name = 'Forever'") == [{"n": 0}]
    assert wh.query("SELECT COUNT(*) AS n FROM JobRuns WHERE Name = @r", {"r": run}) == [{"n": 1}]
    wh.close()
