"""upload-all end to end: a sample bucket (local folder or fake-gcs-server) into DuckDB or the BigQuery emulator,
every table compared row by row with what the rules predict (tests/ingest/upload_model.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from ingest.upload_model import (
    UploadModel,
    add_phase,
    corrupt,
    job_setups,
    model_tables,
    natural_key_duplicates,
    prepare_warehouse,
    runs_of,
    warehouse_tables,
)

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.ingest.upload import CHUNK_RUNS, upload
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
BUCKET = "test-platform-results"
NAMES = sample_job_names(4)
# job 0: an upgrade job (two disruption and alert files per run); 2: no test runs; 3: no disruption.
UPGRADE_JOB, NO_TEST_RUNS_JOB, NO_DISRUPTION_JOB = NAMES[0], NAMES[2], NAMES[3]
OVERRIDES = {NO_TEST_RUNS_JOB: {"CollectTestRuns": False}, NO_DISRUPTION_JOB: {"CollectDisruption": False}}


def write_sample(data_dir: Path) -> Path:
    """4 jobs x 3 days in `data_dir/<bucket>`; in the upgrade job, the first run gets a truncated disruption file
    and the next two runs two more phases whose fractions tell the combination rules apart."""
    root = data_dir / BUCKET
    generate_sample_data(root, jobs=4, days=3, seed=11, now=NOW)
    runs = [root / "logs" / UPGRADE_JOB / r for r in runs_of(root, UPGRADE_JOB)]
    disruption_files = sorted(runs[0].rglob("backend-disruption_*.json"))
    assert len(disruption_files) == 2, "an upgrade run has one disruption file per phase"
    corrupt(disruption_files[0])
    for run in runs[1:3]:
        # ceil per file then sum: +2 +121 seconds (sum then ceil would add 122); alerts: sum 3600.5 s then ceil.
        add_phase(run, "29990101-000000", disruption="1.5s", alert="250ms")
        add_phase(run, "29990101-000001", disruption="2m0.25s", alert="1h0m0.25s")
    return root


@pytest.mark.parametrize(
    ("source", "target"),
    [
        pytest.param("local", "duckdb", id="folder-to-duckdb"),
        pytest.param("gcs", "duckdb", id="fake-gcs-to-duckdb", marks=pytest.mark.emulator),
        pytest.param("gcs", "bigquery", id="fake-gcs-to-bigquery-emulator", marks=pytest.mark.emulator),
    ],
)
def test_upload_all_loads_exactly_what_the_rules_predict(request, tmp_path, source, target):
    root = write_sample(tmp_path / "data")
    if source == "gcs":
        request.getfixturevalue("gcs_server")(tmp_path / "data")
        bucket = open_bucket(f"gs://{BUCKET}")
    else:
        bucket = open_bucket(str(root))
    warehouse = prepare_warehouse(request.getfixturevalue(f"{target}_url"), NAMES, OVERRIDES)
    model = UploadModel(job_setups(warehouse))
    expected = model.upload(root)
    assert max(len(runs_of(root, n)) for n in NAMES) < CHUNK_RUNS  # the model treats a job's runs as one batch

    summary = upload(bucket, warehouse)

    assert (summary.jobs, summary.seen, summary.loaded, summary.skipped, summary.unfinished, summary.failed) == (
        4, expected.seen, expected.loaded, 0, expected.unfinished, 0)
    assert expected.loaded > 60 and expected.unfinished >= 1
    assert [p.path for p in summary.problems] == expected.problems
    assert summary.problems[0].reason.startswith("not valid JSON: ")
    actual = warehouse_tables(warehouse)
    predicted = model_tables(model)
    for table in predicted:
        assert actual[table] == predicted[table], table
    assert summary.rows == {t: len(rows) for t, rows in predicted.items()}
    reasons = warehouse.query("SELECT Uploader, Path, Reason FROM LoadProblems")
    assert reasons == [{"Uploader": "disruptions", "Path": expected.problems[0],
                        "Reason": summary.problems[0].reason}]
    # The rules really were exercised: zeros injected, a multi-file run, both collection switches.
    assert any(r["AlertSeconds"] == 0 for r in model.alert_rows())
    assert not any(r["JobName"] == NO_DISRUPTION_JOB for r in model.tables["BackendDisruption"])
    assert not any(r["JobName"] == NO_TEST_RUNS_JOB for r in model.tables["TestRuns"])
    assert any(r["JobName"] == NO_DISRUPTION_JOB for r in model.alert_rows())

    again = upload(bucket, warehouse)

    assert (again.loaded, again.unfinished, again.failed) == (0, expected.unfinished, 0)
    assert sum(again.rows.values()) == 0
    assert warehouse_tables(warehouse) == actual
    assert set(natural_key_duplicates(warehouse).values()) == {0}
    warehouse.close()
