"""One contract suite for every warehouse: DuckDB always, BigQuery on the emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pathlib import Path

from job_run_aggregator.errors import TableMissing
from job_run_aggregator.warehouse.base import open_warehouse
from job_run_aggregator.warehouse.schema import TABLES

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def disruption_row(run: str, backend: str, seconds: int, start: datetime = T0) -> dict:
    return {
        "BackendName": backend, "JobRunName": run, "DisruptionSeconds": seconds, "JobName": "job-a",
        "JobRunStartTime": start, "JobRunEndTime": start + timedelta(hours=2), "Cluster": "build01",
        "ReleaseTag": None, "MasterNodesUpdated": "Y", "JobRunStatus": "success",
    }


def job_run_row(run: str, start: datetime = T0) -> dict:
    return {"Name": run, "JobName": "job-a", "Status": "success", "StartTime": start,
            "EndTime": start + timedelta(hours=2), "ReleaseTag": "", "Cluster": "build01", "MasterNodesUpdated": "Y"}


def test_create_tables_is_idempotent(warehouse):
    first = warehouse.create_tables()
    assert [(s.table, s.outcome) for s in first] == [(t.name, "created") for t in TABLES]
    second = warehouse.create_tables()
    assert [(s.table, s.outcome) for s in second] == [(t.name, "exists") for t in TABLES]


def test_dry_run_creates_nothing(warehouse):
    statuses = warehouse.create_tables(dry_run=True)
    assert {s.outcome for s in statuses} == {"would create"}
    assert all(s.rows is None for s in warehouse.stats())


def test_loads_are_idempotent_on_the_natural_key(warehouse):
    warehouse.create_tables()
    batch = {
        "BackendDisruption": [disruption_row("1", "kube-api-new-connections", 3),
                              disruption_row("1", "oauth-api-new-connections", 0)],
        "BackendDisruption_JobRuns": [job_run_row("1")],
    }
    assert warehouse.load(batch) == {"BackendDisruption": 2, "BackendDisruption_JobRuns": 1}
    assert warehouse.load(batch) == {"BackendDisruption": 0, "BackendDisruption_JobRuns": 0}
    rows = warehouse.query("SELECT BackendName, DisruptionSeconds FROM BackendDisruption ORDER BY BackendName")
    assert rows == [{"BackendName": "kube-api-new-connections", "DisruptionSeconds": 3},
                    {"BackendName": "oauth-api-new-connections", "DisruptionSeconds": 0}]


def test_a_batch_colliding_with_itself_keeps_one_row(warehouse):
    warehouse.create_tables()
    warehouse.load({"BackendDisruption": [disruption_row("1", "b", 1), disruption_row("1", "b", 1)]})
    assert warehouse.query("SELECT COUNT(*) AS n FROM BackendDisruption") == [{"n": 1}]


def test_replace_rewrites_rows_by_key(warehouse):
    warehouse.create_tables()
    warehouse.load({"JobRuns": [job_run_row("1")]})
    warehouse.replace("JobRuns", [{**job_run_row("1"), "Status": "failure"}])
    assert warehouse.query("SELECT Name, Status FROM JobRuns") == [{"Name": "1", "Status": "failure"}]


def test_query_parameters_are_bound_not_spliced(warehouse):
    warehouse.create_tables()
    hostile = "x'; DROP TABLE JobRuns; --"
    warehouse.load({"JobRuns": [{**job_run_row("1"), "JobName": hostile}]})
    rows = warehouse.query("SELECT Name FROM JobRuns WHERE JobName = @job AND StartTime >= @since",
                           {"job": hostile, "since": T0 - timedelta(days=1)})
    assert rows == [{"Name": "1"}]


def test_stats_report_rows_and_newest_time(warehouse):
    warehouse.create_tables()
    warehouse.load({"JobRuns": [job_run_row("1"), job_run_row("2", T0 + timedelta(days=1))]})
    stats = {s.table: s for s in warehouse.stats()}
    assert stats["JobRuns"].rows == 2
    assert stats["JobRuns"].newest == T0 + timedelta(days=1)
    assert stats["Jobs"].rows == 0 and stats["Jobs"].newest is None


def test_loading_into_a_missing_table_says_run_create_tables(warehouse):
    with pytest.raises(TableMissing, match="create-tables"):
        warehouse.load({"JobRuns": [job_run_row("1")]})


def test_schema_drift_is_reported_without_touching_data(duckdb_url):
    wh = open_warehouse(duckdb_url)
    wh.create_tables()
    wh.load({"JobRuns": [job_run_row("1")]})
    wh.con.execute('ALTER TABLE "Jobs" ADD COLUMN "Extra" VARCHAR')
    wh.con.execute('ALTER TABLE "JobRuns" ALTER COLUMN "Cluster" SET NOT NULL')
    by_table = {s.table: s for s in wh.create_tables()}
    assert by_table["Jobs"].outcome == "drift"
    assert by_table["Jobs"].detail == "table Jobs: unexpected columns Extra"
    assert by_table["JobRuns"].detail == (
        "table JobRuns: changed columns Cluster: STRING REQUIRED != expected STRING NULLABLE"
    )
    assert wh.query("SELECT COUNT(*) AS n FROM JobRuns") == [{"n": 1}]


@pytest.mark.emulator
def test_schema_drift_on_bigquery(bigquery_url):
    from google.cloud import bigquery

    wh = open_warehouse(bigquery_url)
    wh.create_tables()
    t = wh.client.get_table(wh._ref("Jobs"))
    t.schema = [*t.schema, bigquery.SchemaField("Extra", "STRING")]
    wh.client.update_table(t, ["schema"])
    by_table = {s.table: s for s in wh.create_tables()}
    assert by_table["Jobs"].outcome == "drift"
    assert "unexpected columns Extra" in by_table["Jobs"].detail


@pytest.mark.emulator
def test_bigquery_tables_are_partitioned_and_clustered(bigquery_url):
    wh = open_warehouse(bigquery_url)
    wh.create_tables()
    t = wh.client.get_table(wh._ref("BackendDisruption"))
    assert t.time_partitioning.field == "JobRunStartTime"
    assert t.clustering_fields == ["JobName", "BackendName"]
    assert [f.mode for f in t.schema][:3] == ["REQUIRED", "REQUIRED", "REQUIRED"]


@pytest.mark.parametrize(("path", "url"), [
    pytest.param("/var/jra/w.duckdb", "duckdb:///var/jra/w.duckdb", id="absolute"),
    pytest.param("demo/w.duckdb", "duckdb:///./demo/w.duckdb", id="relative"),
    pytest.param("./demo/w.duckdb", "duckdb:///./demo/w.duckdb", id="dot-relative"),
])
def test_a_duckdb_url_printed_for_a_path_opens_that_path(path, url):
    from job_run_aggregator.warehouse.base import parse_warehouse_url
    from job_run_aggregator.warehouse.duckdb import duckdb_url

    assert duckdb_url(path) == url
    rest = parse_warehouse_url(url)[1]
    opened = rest.removeprefix("/") if rest.startswith("/./") else rest  # as _open_duckdb reads it
    assert Path(opened).resolve() == Path(path).resolve()
