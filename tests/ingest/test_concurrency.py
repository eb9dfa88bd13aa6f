"""Concurrency: several real `upload-all` processes at once never double-load and never lose a run.

DuckDB: a lock file serialises writers; contention is reported naming the holder. BigQuery has no lock: loads
MERGE on the natural key, so two writers that both load every run still leave each row once.
"""

from __future__ import annotations

import os
import re
import signal
from datetime import datetime, timezone

import pytest
from ingest.processes import copy_duckdb, upload_all
from ingest.upload_model import UploadModel, job_setups, model_tables, prepare_warehouse, tables_at

from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

EVERY_COLUMN = ("DetectedAt",)


@pytest.fixture(scope="module")
def clean(prepared, tmp_path_factory) -> tuple[dict[str, list[tuple]], dict[str, object]]:
    """The tables and the summary of one upload-all alone."""
    bucket, template = prepared
    url = copy_duckdb(template, tmp_path_factory.mktemp("clean") / "ci_data.duckdb")
    alone = upload_all(url, bucket)
    assert alone.finish() == 0, alone.output
    return tables_at(url, EVERY_COLUMN), alone.summary()


@pytest.mark.slow
@pytest.mark.parametrize("processes", [pytest.param(2, id="two"), pytest.param(4, id="four")])
def test_parallel_uploads_load_every_run_exactly_once(tmp_path, prepared, clean, processes):
    bucket, template = prepared
    tables, alone = clean
    url = copy_duckdb(template, tmp_path / "ci_data.duckdb")

    started = [upload_all(url, bucket, "--lock-timeout", "120") for _ in range(processes)]
    codes = [p.finish() for p in started]

    assert codes == [0] * processes, [p.output for p in started]
    summaries = [p.summary() for p in started]
    # Each run was loaded by exactly one process, each row inserted by exactly one process.
    assert sum(s["loaded"] for s in summaries) == alone["loaded"] > 150
    assert sorted(s["loaded"] for s in summaries) == [0] * (processes - 1) + [alone["loaded"]]
    for table, rows in alone["rows"].items():
        assert sum(s["rows"].get(table, 0) for s in summaries) == rows, table
    assert tables_at(url, EVERY_COLUMN) == tables


@pytest.mark.slow
def test_a_writer_that_cannot_get_the_lock_exits_6_naming_the_holder(tmp_path, prepared, clean):
    bucket, template = prepared
    tables, _ = clean
    path = tmp_path / "ci_data.duckdb"
    url = copy_duckdb(template, path)
    holder = upload_all(url, bucket)
    holder.wait_for_upload_start()
    os.kill(holder.pid, signal.SIGSTOP)  # holds the lock for as long as we like
    try:
        loser = upload_all(url, bucket, "--lock-timeout", "0.5")
        assert loser.finish() == 6
    finally:
        os.kill(holder.pid, signal.SIGCONT)
    assert holder.finish() == 0, holder.output

    assert re.fullmatch(
        rf"error: /*{re.escape(str(path).lstrip('/'))}\.lock: another writer holds the lock "
        rf"\(upload-all pid {holder.pid} since "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\); "
        r"wait for it to finish or raise --lock-timeout\n",
        loser.output,
    ), loser.output
    assert tables_at(url, EVERY_COLUMN) == tables


@pytest.mark.emulator
@pytest.mark.slow
def test_two_uploads_into_bigquery_at_once_merge_each_row_once(tmp_path, bigquery_url):
    bucket = tmp_path / "bucket"
    names = sample_job_names(4)
    generate_sample_data(bucket, jobs=4, days=3, seed=8, now=datetime(2026, 11, 20, 12, tzinfo=timezone.utc),
                         malformed=1)
    warehouse = prepare_warehouse(bigquery_url, names)
    model = UploadModel(job_setups(warehouse))
    expected = model.upload(bucket)
    warehouse.close()

    writers = [upload_all(bigquery_url, bucket) for _ in range(2)]
    for w in writers:
        # Both read the loaded state (nothing yet) before either writes: each will load every run.
        w.wait_for_upload_start()
        os.kill(w.pid, signal.SIGSTOP)
    for w in writers:
        os.kill(w.pid, signal.SIGCONT)
    codes = [w.finish() for w in writers]

    assert codes == [0, 0], [w.output for w in writers]
    summaries = [w.summary() for w in writers]
    assert [s["loaded"] for s in summaries] == [expected.loaded] * 2
    rows = {t: len(r) for t, r in model_tables(model).items()}
    for table, n in rows.items():  # MERGE: each row inserted by exactly one of the two
        assert sum(s["rows"].get(table, 0) for s in summaries) == n, table
    assert tables_at(bigquery_url) == model_tables(model)
