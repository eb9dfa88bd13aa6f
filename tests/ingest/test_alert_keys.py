"""AlertKeys: the zero-injection set is read from a small table, not from a scan of Alerts, and a warehouse loaded
before that table existed is completed from Alerts once, with the same rows as a fresh ingest."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ingest.upload_model import UploadModel, copy_run, job_setups, model_tables, prepare_warehouse, runs_of, tables_at

from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.ingest.state import KNOWN_ALERTS_SQL
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
NAMES = sample_job_names(4)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "bucket"
    generate_sample_data(root, jobs=4, days=3, seed=5, now=NOW)
    return root


def first_half(sample: Path, dst: Path) -> None:
    """The older half of every job's runs (a later upload brings the rest)."""
    for job in NAMES:
        runs = runs_of(sample, job)
        for run in runs[: len(runs) // 2]:
            copy_run(sample, dst, job, run)


def test_keys_are_recorded_with_the_rows_and_alerts_is_not_scanned_again(sample: Path, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    bucket = tmp_path / "bucket"
    first_half(sample, bucket)
    wh = prepare_warehouse(url, NAMES)
    upload(LocalBucket(bucket), wh, now=lambda: NOW)
    keys = wh.query("SELECT Release, Name, Namespace, Level FROM AlertKeys")
    scanned = {(r["Release"], r["Name"], r["Namespace"], r["Level"]) for r in wh.query(KNOWN_ALERTS_SQL)}
    assert keys and {(r["Release"], r["Name"], r["Namespace"], r["Level"]) for r in keys} == scanned
    queries: list[str] = []
    original = wh.query

    def spy(sql: str, params: object = None) -> list:
        queries.append(sql)
        return original(sql, params)  # type: ignore[arg-type]

    wh.query = spy  # type: ignore[method-assign]
    shutil.rmtree(bucket)
    shutil.copytree(sample, bucket)
    upload(LocalBucket(bucket), wh, now=lambda: NOW)
    assert KNOWN_ALERTS_SQL not in queries
    wh.close()
    model = UploadModel(job_setups(prepare_warehouse(f"duckdb:///{tmp_path / 'model.duckdb'}", NAMES)))
    model.upload(sample)
    assert tables_at(url) == model_tables(model)


@pytest.mark.parametrize("dry_run", [False, True], ids=["upload", "dry-run"])
def test_a_warehouse_loaded_before_alert_keys_existed_is_completed_once(
    sample: Path, tmp_path: Path, dry_run: bool
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    bucket = tmp_path / "bucket"
    first_half(sample, bucket)
    wh = prepare_warehouse(url, NAMES)
    upload(LocalBucket(bucket), wh, now=lambda: NOW)
    wh.query("DELETE FROM AlertKeys")  # as a warehouse of the version before AlertKeys
    shutil.rmtree(bucket)
    shutil.copytree(sample, bucket)
    upload(LocalBucket(bucket), wh, now=lambda: NOW, dry_run=dry_run)
    recorded = wh.query("SELECT count(*) AS n FROM AlertKeys")[0]["n"]
    wh.close()
    if dry_run:
        assert recorded == 0  # a dry run writes nothing, not even the keys it read
        return
    model = UploadModel(job_setups(prepare_warehouse(f"duckdb:///{tmp_path / 'model.duckdb'}", NAMES)))
    model.upload(sample)
    assert tables_at(url) == model_tables(model)


def test_a_key_missing_from_alert_keys_never_doubles_alerts_rows(sample: Path, tmp_path: Path) -> None:
    """AlertKeys short of a key (edited by hand, or written by an older version beside this one): when the key is
    seen again, the zeros for runs loaded before are inserted only where those runs lack the key's row."""
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    bucket = tmp_path / "bucket"
    first_half(sample, bucket)
    wh = prepare_warehouse(url, NAMES)
    upload(LocalBucket(bucket), wh, now=lambda: NOW)
    fired = wh.query("SELECT Name, COUNT(*) AS n FROM Alerts WHERE AlertSeconds > 0 GROUP BY Name ORDER BY n DESC")
    wh.query("DELETE FROM AlertKeys WHERE Name = @name", {"name": fired[0]["Name"]})  # a key the rest will bring
    shutil.rmtree(bucket)
    shutil.copytree(sample, bucket)
    upload(LocalBucket(bucket), wh, now=lambda: NOW)
    wh.close()
    model = UploadModel(job_setups(prepare_warehouse(f"duckdb:///{tmp_path / 'model.duckdb'}", NAMES)))
    model.upload(sample)
    got, want = tables_at(url), model_tables(model)  # tables_at fails on any natural key loaded twice
    # Keys the second half never brought back stay lost for the runs loaded after the edit; every row is right.
    assert set(got["Alerts"]) <= set(want["Alerts"]) and got["Alerts"]
    assert {t: rows for t, rows in got.items() if t not in ("Alerts", "AlertKeys")} == \
        {t: rows for t, rows in want.items() if t not in ("Alerts", "AlertKeys")}
