"""Exactly once across uploads: late-finishing runs, bad artifacts, --dry-run, --job (library and CLI)."""

from __future__ import annotations

import fnmatch
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ingest.upload_model import (
    UploadModel,
    copy_run,
    corrupt,
    job_setups,
    make_unfinished,
    model_tables,
    prepare_warehouse,
    runs_of,
    tables_at,
    warehouse_tables,
)
from typer.testing import CliRunner

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.cli import app
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.base import open_warehouse

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
NAMES = sample_job_names(4)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 jobs x 3 days, read-only: tests copy what they change."""
    root = tmp_path_factory.mktemp("sample") / "bucket"
    generate_sample_data(root, jobs=4, days=3, seed=5, now=NOW)
    return root


def finished_runs(root: Path, job: str) -> list[str]:
    return [r for r in runs_of(root, job)
            if json.loads((root / "logs" / job / r / "prowjob.json").read_bytes())["status"].get("completionTime")]


def cli(url: str, bucket: Path, *args: str):
    return CliRunner().invoke(app, ["--warehouse", url, "--bucket", str(bucket), *args])


def tables(url: str) -> dict[str, list[tuple]]:
    return tables_at(url)


@pytest.mark.parametrize(
    ("lookback", "rescued"),
    [
        pytest.param(timedelta(hours=24), True, id="within-lookback-loaded-late"),
        pytest.param(timedelta(seconds=1), False, id="beyond-lookback-never-rechecked"),
    ],
)
def test_a_run_that_finishes_after_newer_runs_were_loaded(tmp_path, sample, duckdb_url, lookback, rescued):
    job = NAMES[1]
    late, *newer = finished_runs(sample, job)[-4:]
    bucket_dir = tmp_path / "bucket"
    shutil.copytree(sample, bucket_dir)
    for run in newer:
        shutil.rmtree(bucket_dir / "logs" / job / run)
    make_unfinished(bucket_dir, job, late)
    bucket = open_bucket(str(bucket_dir))
    warehouse = prepare_warehouse(duckdb_url, NAMES)
    model = UploadModel(job_setups(warehouse))

    first = upload(bucket, warehouse, lookback=lookback, now=lambda: NOW)
    expected = model.upload(bucket_dir)
    assert (first.loaded, first.unfinished) == (expected.loaded, expected.unfinished)
    for run in newer:  # newer runs of the job appear and are loaded while `late` is still running
        copy_run(sample, bucket_dir, job, run)
    second = upload(bucket, warehouse, lookback=lookback, now=lambda: NOW)
    assert second.loaded == model.upload(bucket_dir).loaded == 3
    copy_run(sample, bucket_dir, job, late)  # now it has finished: prowjob.json, finished.json, artifacts

    third = upload(bucket, warehouse, lookback=lookback, now=lambda: NOW)

    loaded_late = warehouse.query("SELECT COUNT(*) AS n FROM JobRuns WHERE Name = @name", {"name": late})[0]["n"]
    if rescued:
        assert model.upload(bucket_dir).loaded == third.loaded == loaded_late == 1
        assert warehouse_tables(warehouse) == model_tables(model)
    else:
        # The look-back window is what rescues it: listing starts after the newest run older than the window.
        assert (third.loaded, loaded_late) == (0, 0)
    warehouse.close()


@pytest.mark.emulator
def test_a_late_run_is_loaded_late_on_bigquery_too(tmp_path, sample, bigquery_url):
    job = NAMES[0]
    late = finished_runs(sample, job)[-2]
    bucket_dir = tmp_path / "bucket"
    shutil.copytree(sample, bucket_dir)
    make_unfinished(bucket_dir, job, late)
    warehouse = prepare_warehouse(bigquery_url, NAMES)
    model = UploadModel(job_setups(warehouse))
    assert upload(open_bucket(str(bucket_dir)), warehouse, now=lambda: NOW).loaded == model.upload(bucket_dir).loaded
    copy_run(sample, bucket_dir, job, late)

    assert upload(open_bucket(str(bucket_dir)), warehouse, now=lambda: NOW).loaded == model.upload(bucket_dir).loaded == 1
    assert warehouse_tables(warehouse) == model_tables(model)


def summary_line(counts, rows: dict[str, int], verb: str = "loaded", skipped: int = 0) -> str:
    rendered = ", ".join(f"{t} {n}" for t, n in sorted(rows.items()))
    return (f"upload-all: jobs 4, runs seen {counts.seen}, {verb} {counts.loaded}, already loaded {skipped}, "
            f"unfinished {counts.unfinished}, failed {counts.failed}; rows {verb}: {rendered}; "
            f"problems {len(counts.problems)}")


def test_a_malformed_disruption_file_is_recorded_and_the_rest_of_the_run_loads(tmp_path, sample, duckdb_url):
    bucket_dir = tmp_path / "bucket"
    shutil.copytree(sample, bucket_dir)
    job = NAMES[0]  # an upgrade job: its runs have one disruption file per phase
    run = finished_runs(bucket_dir, job)[3]
    bad, good = sorted((bucket_dir / "logs" / job / run).rglob("backend-disruption_*.json"))
    corrupt(bad)
    bad_path = bad.relative_to(bucket_dir).as_posix()
    prepare_warehouse(duckdb_url, NAMES).close()
    model = UploadModel(job_setups(open_warehouse(duckdb_url)))
    expected = model.upload(bucket_dir)

    result = cli(duckdb_url, bucket_dir, "upload-all")

    assert result.exit_code == 0, result.output
    rows = {t: len(r) for t, r in model_tables(model).items()}
    assert summary_line(expected, rows) in result.stderr
    assert f"{bad_path}: not valid JSON: " in result.stderr
    after = open_warehouse(duckdb_url)
    problems = after.query("SELECT JobRunName, JobName, Uploader, Path, Reason FROM LoadProblems")
    assert len(problems) == 1 and problems[0]["Reason"].startswith("not valid JSON: ")
    assert {k: v for k, v in problems[0].items() if k != "Reason"} == {
        "JobRunName": run, "JobName": job, "Uploader": "disruptions", "Path": bad_path}
    # The run itself is loaded, with the good phase's disruption and everything else.
    columns = [("JobRuns", "Name"), ("BackendDisruption_JobRuns", "Name"), ("Alerts_JobRuns", "Name"),
               ("BackendDisruption", "JobRunName"), ("Alerts", "JobRunName"), ("TestRuns", "JobRunName")]
    per_table = {t: after.query(f"SELECT COUNT(*) AS n FROM {t} WHERE {c} = @run", {"run": run})[0]["n"]
                 for t, c in columns}
    good_backends = len(json.loads(good.read_bytes())["BackendDisruptions"])
    assert per_table["BackendDisruption"] == good_backends
    assert all(per_table.values()), per_table
    assert warehouse_tables(after) == model_tables(model)
    after.close()
    status = CliRunner().invoke(app, ["--warehouse", duckdb_url, "status"])
    assert status.exit_code == 0 and "1 artifact problem(s) recorded in LoadProblems" in status.stderr


def test_a_run_with_an_unusable_prowjob_fails_the_command_and_is_retried(tmp_path, sample, duckdb_url):
    bucket_dir = tmp_path / "bucket"
    shutil.copytree(sample, bucket_dir)
    job = NAMES[2]
    run = finished_runs(bucket_dir, job)[1]
    prowjob = bucket_dir / "logs" / job / run / "prowjob.json"
    good = prowjob.read_bytes()
    newest = finished_runs(bucket_dir, job)[-1]
    start = {r: json.loads((bucket_dir / "logs" / job / r / "prowjob.json").read_bytes())["status"]["startTime"]
             for r in (run, newest)}
    assert start[run] < (datetime.fromisoformat(start[newest]) - timedelta(days=1)).isoformat(), \
        "the failed run must lie outside the default look-back window: its retry cannot come from re-listing"
    corrupt(prowjob)
    prepare_warehouse(duckdb_url, NAMES).close()
    model = UploadModel(job_setups(open_warehouse(duckdb_url)))
    expected = model.upload(bucket_dir)
    assert expected.failed == 1

    result = cli(duckdb_url, bucket_dir, "upload-all")

    assert result.exit_code == 3
    rows = {t: len(r) for t, r in model_tables(model).items()}
    assert summary_line(expected, rows) in result.stderr
    assert result.stderr.strip().endswith(
        "error: 1 run(s) failed to load; see the problems above (they are retried next time)")
    after = open_warehouse(duckdb_url)
    problems = after.query("SELECT Uploader, Path, Reason FROM LoadProblems ORDER BY Uploader")
    path = prowjob.relative_to(bucket_dir).as_posix()
    assert [(p["Uploader"], p["Path"]) for p in problems] == [(u, path) for u in ("alerts", "disruptions", "job-runs")]
    assert all(p["Reason"].startswith("not valid JSON: ") for p in problems)
    assert f"{path}: not valid JSON: " in result.stderr
    assert after.query("SELECT COUNT(*) AS n FROM JobRuns WHERE Name = @run", {"run": run}) == [{"n": 0}]
    assert warehouse_tables(after) == model_tables(model)
    after.close()

    still_broken = cli(duckdb_url, bucket_dir, "upload-all")  # re-read although older than the look-back window
    assert still_broken.exit_code == 3
    assert ", loaded 0, " in still_broken.stderr and ", failed 1;" in still_broken.stderr

    prowjob.write_bytes(good)  # fixed upstream (or re-uploaded): the next upload loads the run
    again = cli(duckdb_url, bucket_dir, "upload-all")

    assert again.exit_code == 0, again.output
    assert model.upload(bucket_dir).loaded == 1
    assert ", loaded 1, " in again.stderr
    got = tables(duckdb_url)
    assert got == model_tables(model)
    # The record of the problem stays: it happened (DetectedAt says when).
    assert len(got["LoadProblems"]) == 3


def test_dry_run_prints_every_row_and_writes_nothing(tmp_path, sample, duckdb_url):
    prepare_warehouse(duckdb_url, NAMES).close()
    before = tables(duckdb_url)
    model = UploadModel(job_setups(open_warehouse(duckdb_url)))
    expected = model.upload(sample)

    result = cli(duckdb_url, sample, "--dry-run", "upload-all")

    assert result.exit_code == 0, result.output
    printed: dict[str, list[dict]] = {}
    for line in result.stdout.splitlines():
        item = json.loads(line)
        printed.setdefault(item["table"], []).append(item["row"])
    rows = {t: len(r) for t, r in model_tables(model).items()}
    assert {t: len(r) for t, r in printed.items()} == {t: n for t, n in rows.items() if n}
    assert summary_line(expected, rows, verb="would load") in result.stderr
    assert sorted(r["Name"] for r in printed["JobRuns"]) == sorted(r["Name"] for r in model.tables["JobRuns"])
    assert tables(duckdb_url) == before
    assert all(not rows for rows in before.values())


@pytest.mark.parametrize(
    "patterns",
    [
        pytest.param(["*-e2e-gcp-*"], id="one-glob"),
        pytest.param(["*-arm64", "*-single-node"], id="two-globs"),
    ],
)
def test_job_filter_uploads_only_matching_jobs_and_later_the_rest(tmp_path, sample, duckdb_url, patterns):
    prepare_warehouse(duckdb_url, NAMES).close()
    model = UploadModel(job_setups(open_warehouse(duckdb_url)))
    chosen = [n for n in NAMES if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    assert 0 < len(chosen) < len(NAMES)
    model.upload(sample, only=chosen)

    result = cli(duckdb_url, sample, "upload-all", *[a for p in patterns for a in ("--job", p)])

    assert result.exit_code == 0, result.output
    assert f"upload-all: jobs {len(chosen)}, " in result.stderr
    got = tables(duckdb_url)
    assert got == model_tables(model)
    assert {row[1] for row in got["JobRuns"]} == set(chosen)

    rest = cli(duckdb_url, sample, "upload-all")

    assert rest.exit_code == 0, rest.output
    model.upload(sample)
    assert tables(duckdb_url) == model_tables(model)
