"""The series SQL per dialect, snapshotted (regenerate with JRA_UPDATE_SNAPSHOTS=1, then review the diff); every
text filters on the partition column and takes its values as parameters only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from job_run_aggregator.regressions import SeriesQuery
from job_run_aggregator.regressions.series import runs_sql, screen_sql
from job_run_aggregator.warehouse.sql import transpile

SNAPSHOTS = Path(__file__).parent / "snapshots"
QUERIES = {
    "screen_disruptions": (screen_sql(SeriesQuery()), "d.JobRunStartTime >= @start AND d.JobRunStartTime < @end"),
    "runs_disruptions": (runs_sql(SeriesQuery(release="4.14")),
                         "d.JobRunStartTime >= @start AND d.JobRunStartTime < @end AND j.Release = @release"),
    "screen_alerts": (screen_sql(SeriesQuery(data_type="alerts")),
                      "a.JobRunStartTime >= @start AND a.JobRunStartTime < @end"),
    "runs_alerts": (runs_sql(SeriesQuery(data_type="alerts")),
                    "a.JobRunStartTime >= @start AND a.JobRunStartTime < @end"),
}


@pytest.mark.parametrize("dialect", ["bigquery", "duckdb"])
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_series_sql_matches_its_snapshot(name: str, dialect: str) -> None:
    sql, partition_filter = QUERIES[name]
    text = transpile(sql, dialect)
    path = SNAPSHOTS / f"{name}.{dialect}.sql"
    if os.environ.get("JRA_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text + "\n")
    assert text + "\n" == path.read_text()
    assert partition_filter in sql and "'" not in sql.replace("'|'", "").replace("','", "")
