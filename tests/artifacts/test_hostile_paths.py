"""Hostile job names and object paths: SQL sees them only as parameters, the local store never leaves its folder.

Jobs rows named with quotes, semicolons, newlines, placeholders and unicode (and a run folder named like an
injection) are uploaded, re-checked and listed on every warehouse; each value must round-trip unchanged. Job
prefixes with `../` or a symlink out of the bucket, and symlinked artifacts pointing outside, must never be read.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.cli import app
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.jobs.primer import list_jobs, prime_job_table
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.base import open_warehouse

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
HOSTILE_NAMES = [
    pytest.param("periodic-ci-x'; DROP TABLE Jobs; --", id="quote-semicolon-drop"),
    pytest.param('periodic-ci-x" OR "1"="1', id="double-quotes"),
    pytest.param("periodic-ci-x\nDELETE FROM JobRuns;\r\n-- ", id="newlines"),
    pytest.param("periodic-ci-jöb-名前-🚀-ǅ", id="unicode"),
    pytest.param("periodic-ci-x @lookback_seconds ? $1 %s {marker} %_ \\", id="placeholders-wildcards-backslash"),
    pytest.param("periodic-ci-x/../../..", id="dotdot-name-in-its-own-folder"),
]
NAMES = [p.values[0] for p in HOSTILE_NAMES]
HOSTILE_RUN = "1601799999999999999'; DELETE FROM JobRuns; --"
DATA_TABLES = ("JobRuns", "BackendDisruption_JobRuns", "Alerts_JobRuns", "TestRuns", "BackendDisruption", "Alerts")


@dataclass
class Loaded:
    url: str
    reference: str
    control: str
    original: dict[str, str]  # hostile name -> the sample job whose runs it carries
    first: object
    second: object


def _folder(name: str) -> str:
    # A job's folder is its name; '/' cannot be in a file name, so that one name gets a folder of its own.
    return name.replace("/", "%2F")


def _jobs_row(wh, name: str) -> dict:
    rows = [r for r in wh.query("SELECT * FROM Jobs") if r["JobName"] == name]
    assert len(rows) == 1
    return dict(rows[0])


@pytest.fixture(scope="module", params=["duckdb", pytest.param("bigquery", marks=pytest.mark.emulator)])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """Sample jobs uploaded once under their own names (the reference, DuckDB) and once under hostile names."""
    base = tmp_path_factory.mktemp("hostile")
    if request.param == "duckdb":
        url = f"duckdb:///{base / 'hostile.duckdb'}"
    else:
        request.getfixturevalue("bigquery_emulator")
        url = f"bigquery://test-project/hostile_{uuid.uuid4().hex[:8]}"
    plain, hostile = base / "plain", base / "hostile"
    generate_sample_data(plain, jobs=1 + len(NAMES), days=1, seed=5, now=NOW)
    originals = sample_job_names(1 + len(NAMES))
    control = originals[0]
    first_run = min(p for p in (plain / "logs" / control).iterdir() if p.is_dir())
    shutil.copytree(first_run, plain / "logs" / control / HOSTILE_RUN)
    shutil.copytree(plain, hostile)
    original = dict(zip(NAMES, originals[1:]))
    for name, job in original.items():
        os.rename(hostile / "logs" / job, hostile / "logs" / _folder(name))
    reference = f"duckdb:///{base / 'reference.duckdb'}"
    ref = open_warehouse(reference)
    wh = open_warehouse(url)
    try:
        ref.create_tables()
        prime_job_table(ref, "".join(f"{j}\n" for j in originals), ("4.14", "4.13"))
        upload(open_bucket(str(plain)), ref, workers=4, now=lambda: NOW)
        wh.create_tables()
        rows = [_jobs_row(ref, control)] + [
            {**_jobs_row(ref, job), "JobName": name, "GCSJobHistoryLocationPrefix": f"logs/{_folder(name)}"}
            for name, job in original.items()
        ]
        wh.load({"Jobs": rows})
        first = upload(open_bucket(str(hostile)), wh, workers=4, now=lambda: NOW)
        second = upload(open_bucket(str(hostile)), wh, workers=4, now=lambda: NOW)
    finally:
        ref.close()
        wh.close()
    return Loaded(url, reference, control, original, first, second)


def _rows(url: str, table: str, name: str, as_name: str | None = None) -> list[tuple]:
    wh = open_warehouse(url, read_only=True) if url.startswith("duckdb") else open_warehouse(url)
    try:
        rows = wh.query(f"SELECT * FROM {table} WHERE JobName = @name", {"name": name})
    finally:
        wh.close()
    # Zero rows for alerts known from other jobs depend on the order jobs are uploaded in (by name): not compared.
    rows = [r for r in rows if table != "Alerts" or r["AlertSeconds"] != 0]
    out = [tuple(str(as_name if k == "JobName" and as_name else v) for k, v in sorted(r.items()) if k != "DetectedAt")
           for r in rows]
    return sorted(out)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_job_name_loads_exactly_the_rows_its_runs_give_under_a_plain_name(loaded, name):
    job = loaded.original[name]
    for table in DATA_TABLES:
        want = _rows(loaded.reference, table, job)
        assert want, table
        assert _rows(loaded.url, table, name, as_name=job) == want, table
    wh = open_warehouse(loaded.url)
    try:
        assert name in {r["JobName"] for r in wh.query("SELECT DISTINCT JobName FROM JobRuns")}  # byte for byte
        assert _jobs_row(wh, name)["GCSJobHistoryLocationPrefix"] == f"logs/{_folder(name)}"
    finally:
        wh.close()


def test_the_injection_shaped_run_folder_is_a_run_like_any_other(loaded):
    wh = open_warehouse(loaded.url)
    try:
        rows = wh.query("SELECT JobName FROM JobRuns WHERE Name = @run", {"run": HOSTILE_RUN})
        assert [r["JobName"] for r in rows] == [loaded.control]
        assert wh.query("SELECT COUNT(*) AS n FROM Jobs")[0]["n"] == 1 + len(NAMES)
    finally:
        wh.close()
    for table in DATA_TABLES:
        assert _rows(loaded.url, table, loaded.control) == _rows(loaded.reference, table, loaded.control), table


def test_the_loaded_state_query_recognises_every_hostile_name(loaded):
    # The second upload finds every run already loaded: the per-job state query matched each name.
    assert loaded.first.loaded > 0 and loaded.first.failed == 0
    assert loaded.second.loaded == 0 and loaded.second.rows == {}
    assert loaded.second.skipped == loaded.first.loaded


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_jobs_and_status_list_a_hostile_name_unchanged(loaded, name):
    wh = open_warehouse(loaded.url)
    try:
        release = _jobs_row(wh, name)["Release"]
        assert name in [r["JobName"] for r in list_jobs(wh, {"Release": release, "Platform": None})]
    finally:
        wh.close()
    listed = CliRunner().invoke(app, ["--warehouse", loaded.url, "jobs", "--json"])
    assert listed.exit_code == 0, listed.output
    assert name in [r["JobName"] for r in json.loads(listed.stdout)]
    status = CliRunner().invoke(app, ["--warehouse", loaded.url, "status", "--json"])
    assert status.exit_code == 0, status.output
    assert {s["table"]: s["rows"] for s in json.loads(status.stdout)}["Jobs"] == 1 + len(NAMES)


def _count(wh, table: str, name: str) -> int:
    return wh.query(f"SELECT COUNT(*) AS n FROM {table} WHERE JobName = @name", {"name": name})[0]["n"]


# -- the local store never leaves its folder ---------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path):
    """A bucket with one job, another job's runs (other build ids) outside it, and a primed warehouse."""
    root = tmp_path / "bucket"
    generate_sample_data(root, jobs=1, days=1, seed=5, now=NOW)
    generate_sample_data(tmp_path / "other", jobs=2, days=1, seed=6, now=NOW)
    control, other = sample_job_names(2)
    outside = tmp_path / "outside"
    shutil.move(tmp_path / "other" / "logs" / other, outside / control)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    wh = open_warehouse(url)
    wh.create_tables()
    prime_job_table(wh, control + "\n", ("4.14", "4.13"))
    yield root, outside, control, wh, url
    wh.close()


def _add_job(wh, control: str, name: str, prefix: str) -> None:
    wh.load({"Jobs": [{**_jobs_row(wh, control), "JobName": name, "GCSJobHistoryLocationPrefix": prefix}]})


ESCAPES = [
    pytest.param("logs/../../outside/{control}", id="dotdot-prefix"),
    pytest.param("logs/{control}/../../../outside/{control}", id="dotdot-inside-a-prefix"),
    pytest.param("logs/zz-linked", id="symlinked-job-folder"),
]


@pytest.mark.parametrize("prefix", ESCAPES)
def test_a_job_prefix_leading_out_of_the_bucket_is_refused_and_nothing_outside_is_read(store, prefix):
    root, outside, control, wh, _ = store
    prefix = prefix.format(control=control)
    os.symlink(outside / control, root / "logs" / "zz-linked")
    _add_job(wh, control, "zz-escaping-job", prefix)  # sorts after the control job
    summary = upload(open_bucket(str(root)), wh, workers=2, now=lambda: NOW)
    # Reported as that job's failure; the batch goes on (the CLI exits 3 at the end).
    assert summary.failed == 1
    assert [str(p) for p in summary.problems] == [f"{prefix}: path escapes the bucket folder; refused"]
    for table in DATA_TABLES:
        assert _count(wh, table, "zz-escaping-job") == 0, table
    assert _count(wh, "JobRuns", control) > 0  # the job before it was loaded and kept


def test_an_absolute_job_prefix_stays_inside_the_bucket(store):
    root, outside, control, wh, _ = store
    prefix = f"{outside}/{control}"  # read as bucket-relative: <bucket>/<that path>, which does not exist
    _add_job(wh, control, "zz-absolute-job", prefix)
    bucket = open_bucket(str(root))
    assert list(bucket.list_dirs(prefix)) == []
    summary = upload(bucket, wh, workers=2, now=lambda: NOW)
    assert summary.jobs == 2 and summary.failed == 0
    for table in DATA_TABLES:
        assert _count(wh, table, "zz-absolute-job") == 0, table
    inside = root / prefix.lstrip("/")
    shutil.copytree(outside / control, inside)
    assert list(bucket.list_dirs(prefix)) == sorted(p.name for p in inside.iterdir() if p.is_dir())


def test_the_cli_names_the_escaping_prefix_in_one_line(store):
    root, _, control, wh, url = store
    prefix = f"logs/../../outside/{control}"
    _add_job(wh, control, "zz-escaping-job", prefix)
    wh.close()
    result = CliRunner().invoke(app, ["--warehouse", url, "--bucket", str(root), "upload-all", "--workers", "2"])
    assert result.exit_code == 3, result.output
    assert f"{prefix}: path escapes the bucket folder; refused" in result.stderr
    assert "error: 1 run(s) failed to load" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_symlinked_runs_and_artifacts_pointing_outside_are_never_read(store):
    root, outside, control, wh, _ = store
    job = root / "logs" / control
    runs = sorted(p for p in job.iterdir() if p.is_dir())
    # A whole run folder linked in from outside: not listed.
    os.symlink(next(p for p in (outside / control).iterdir() if p.is_dir()), job / "1601799999999999998")
    # Artifacts linked from outside (refused) and from elsewhere inside the bucket (allowed: the control).
    junit = next(runs[1].rglob("backend-disruption_*.json")).parent
    for where, backend, stamp in ((outside, "escaped-backend", "20261115"), (root / "shared", "inside-backend",
                                                                                "20261114")):
        where.mkdir(exist_ok=True)
        target = where / f"{backend}.json"
        target.write_text(json.dumps({"BackendDisruptions": {f"{backend}-new-connections": {
            "Name": f"{backend}-new-connections", "BackendName": backend, "ConnectionType": "New",
            "DisruptedDuration": "7s", "DisruptionMessages": None}}}))
        os.symlink(target, junit / f"backend-disruption_{stamp}-000000.json")
    summary = upload(open_bucket(str(root)), wh, workers=2, now=lambda: NOW)
    assert summary.failed == 0
    loaded = {r["Name"] for r in wh.query("SELECT Name FROM JobRuns")}
    assert "1601799999999999998" not in loaded and runs[1].name in loaded
    backends = {r["BackendName"] for r in wh.query("SELECT DISTINCT BackendName FROM BackendDisruption")}
    assert "inside-backend-new-connections" in backends  # a linked artifact is read when it stays inside
    assert not {b for b in backends if b.startswith("escaped-backend")}
