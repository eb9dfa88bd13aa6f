"""Key-less DuckDB data tables (issue 16): no ART index, yet every run's rows are loaded exactly once.

The data tables (TestRuns, BackendDisruption, Alerts) are created without a PRIMARY KEY; a load inserts a run's
rows only while its marker row is absent, in the marker's own transaction. Files created by earlier versions
(PRIMARY KEY everywhere) keep loading, and create-tables does not call them drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse
from job_run_aggregator.warehouse.schema import TABLES, table

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _run(run: str, job: str = "job-a", seconds: int = 3) -> dict[str, list[dict]]:
    """One run's rows for the disruption uploader: a data row per backend, then the marker row."""
    base = {"JobRunName": run, "JobName": job, "JobRunStartTime": T0, "JobRunEndTime": T0, "Cluster": "c",
            "ReleaseTag": "", "MasterNodesUpdated": "N", "JobRunStatus": "success"}
    return {
        "BackendDisruption": [{**base, "BackendName": b, "DisruptionSeconds": seconds} for b in ("api", "oauth")],
        "BackendDisruption_JobRuns": [{"Name": run, "JobName": job, "Status": "success", "StartTime": T0,
                                       "EndTime": T0, "ReleaseTag": "", "Cluster": "c", "MasterNodesUpdated": "N"}],
    }


def _primary_keys(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'")
        return {r[0] for r in rows.fetchall()}
    finally:
        con.close()


def _count(wh: DuckDBWarehouse, name: str) -> int:
    return int(wh.query(f"SELECT COUNT(*) AS n FROM `{name}`")[0]["n"])


def test_data_tables_have_no_key_index_and_the_others_keep_theirs(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.create_tables()
    wh.close()
    keyless = {t.name for t in TABLES if not t.indexed_key}
    assert keyless == {"TestRuns", "BackendDisruption", "Alerts"}
    assert _primary_keys(tmp_path / "w.duckdb") == {t.name for t in TABLES} - keyless


@pytest.mark.parametrize("rows_per_run", [2, 3000], ids=["list-path", "json-path"])
def test_a_run_already_marked_is_not_inserted_again(tmp_path, rows_per_run):
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.create_tables()
    first = _run("1001")
    if rows_per_run > 2:  # enough values for the read_json path
        first["BackendDisruption"] = [{**first["BackendDisruption"][0], "BackendName": f"b{i}"}
                                      for i in range(rows_per_run)]
    assert wh.load(first)["BackendDisruption"] == rows_per_run
    # The same run again (a stale "loaded" state, a second writer), with other values: nothing is added.
    again = {t: [{**r, "DisruptionSeconds": 99} if "DisruptionSeconds" in r else r for r in rows]
             for t, rows in first.items()}
    assert wh.load(again) == {"BackendDisruption": 0, "BackendDisruption_JobRuns": 0}
    # A new run alongside the old one in one batch: only the new run's rows go in.
    mixed = {t: again[t] + _run("1002")[t] for t in again}
    assert wh.load(mixed) == {"BackendDisruption": 2, "BackendDisruption_JobRuns": 1}
    assert _count(wh, "BackendDisruption") == rows_per_run + 2
    assert wh.query("SELECT MAX(DisruptionSeconds) AS m FROM BackendDisruption")[0]["m"] == 3


def test_a_marker_of_another_job_with_the_same_run_id_still_blocks_it(tmp_path):
    # Build ids are unique across jobs; the Name key of the marker tables says so. A run id marked loaded under
    # one job is loaded for no other job, with or without key indexes (as before issue 16).
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.create_tables()
    wh.load(_run("1001", job="job-a"))
    assert wh.load(_run("1001", job="job-b")) == {"BackendDisruption": 0, "BackendDisruption_JobRuns": 0}


def test_duplicate_keys_inside_one_batch_keep_the_last_row(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.create_tables()
    batch = _run("1001")
    batch["BackendDisruption"].append({**batch["BackendDisruption"][0], "DisruptionSeconds": 7})
    assert wh.load(batch)["BackendDisruption"] == 2
    rows = wh.query("SELECT BackendName, DisruptionSeconds FROM BackendDisruption ORDER BY BackendName")
    assert [(r["BackendName"], r["DisruptionSeconds"]) for r in rows] == [("api", 7), ("oauth", 3)]


def test_a_file_created_with_keys_by_an_earlier_version_keeps_working(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for t in TABLES:  # the DDL of the versions before issue 16: a PRIMARY KEY on every table
        cols = ", ".join(f'"{c.name}" {_duck(c.type)}{" NOT NULL" if c.required else ""}' for c in t.columns)
        con.execute(f'CREATE TABLE "{t.name}" ({cols}, PRIMARY KEY ({", ".join(chr(34) + k + chr(34) for k in t.key)}))')
    con.close()
    wh = DuckDBWarehouse(path)
    assert {s.outcome for s in wh.create_tables()} == {"exists"}  # no false drift
    assert wh.load(_run("1001")) == {"BackendDisruption": 2, "BackendDisruption_JobRuns": 1}
    assert wh.load(_run("1001")) == {"BackendDisruption": 0, "BackendDisruption_JobRuns": 0}
    assert _count(wh, "BackendDisruption") == 2
    wh.close()
    assert "BackendDisruption" in _primary_keys(path)  # left as it was: nothing is altered


def test_replace_refuses_a_table_without_a_key_index(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.create_tables()
    with pytest.raises(ValueError, match="BackendDisruption has no key index"):
        wh.replace("BackendDisruption", _run("1001")["BackendDisruption"])
    assert table("Jobs").indexed_key


def _duck(kind: str) -> str:
    return {"STRING": "VARCHAR", "BOOLEAN": "BOOLEAN", "INTEGER": "BIGINT", "FLOAT": "DOUBLE",
            "TIMESTAMP": "TIMESTAMPTZ"}[kind]


def test_markers_given_before_their_data_rows_do_not_hide_them(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.create_tables()
    batch = _run("1001")
    reordered = {"BackendDisruption_JobRuns": batch["BackendDisruption_JobRuns"],
                 "BackendDisruption": batch["BackendDisruption"]}
    assert wh.load(reordered) == {"BackendDisruption": 2, "BackendDisruption_JobRuns": 1}
