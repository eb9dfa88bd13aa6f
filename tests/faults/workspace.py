"""What the hardening tests share: a sample bucket, the CLI as a process, fake-gcs-server on a fixed port, dumps."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

from cli_process import cli_env, run_cli
from servers import fake_gcs_server, free_port

from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.base import open_warehouse
from job_run_aggregator.warehouse.schema import TABLES

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
BUCKET = "test-platform-results"
# Columns that record when a row was written, not what was read: they differ between any two runs.
LOAD_TIME_COLUMNS = {"DetectedAt"}
# Which column names a row's job run, per table (Jobs has none).
# Tables with rows per job run, and the column naming the run (Jobs and AlertKeys are not per run).
RUN_COLUMN = {t.name: ("Name" if t.name.endswith("JobRuns") else "JobRunName") for t in TABLES
              if "JobRunName" in t.column_names or t.name.endswith("JobRuns")}


def make_bucket(root: Path, jobs: int = 4, days: int = 3, seed: int = 11, malformed: int = 2) -> tuple[Path, Path]:
    """Write `root/<BUCKET>/logs/…` (fake-gcs-server's -data layout) and a job-name file; return both paths."""
    generate_sample_data(root / BUCKET, jobs=jobs, days=days, seed=seed, now=NOW, malformed=malformed)
    names = root.parent / f"{root.name}-job-names.txt"
    names.write_text("".join(f"{n}\n" for n in sample_job_names(jobs)))
    return root, names


__all__ = ["cli_env", "run_cli"]  # the CLI-process helpers live in tests/cli_process.py; re-exported here


def primed_template(folder: Path, names_file: Path) -> Path:
    """A DuckDB file with the tables and the Jobs rows of `names_file`, no runs: tests copy it."""
    template = folder / "template.duckdb"
    url = f"duckdb:///{template}"
    for args in (("create-tables",), ("prime-job-table", "--job-names-file", str(names_file))):
        done = run_cli("--warehouse", url, *args)
        assert done.returncode == 0, done.stderr
    return template


def dump_tables(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, without load-time columns."""
    wh = open_warehouse(url, read_only=True)
    try:
        out = {}
        for t in TABLES:
            cols = [c.name for c in t.columns if c.name not in LOAD_TIME_COLUMNS]
            rows = wh.query(f"SELECT {', '.join(cols)} FROM {t.name}")
            out[t.name] = sorted((tuple(r[c] for c in cols) for r in rows), key=repr)
        return out
    finally:
        wh.close()


def rows_by_run(tables: dict[str, list[tuple]]) -> dict[str, dict[str, list[tuple]]]:
    """Per table, the rows of each job run (keyed by run name)."""
    out: dict[str, dict[str, list[tuple]]] = {}
    for t in TABLES:
        if t.name not in RUN_COLUMN:
            continue
        index = [c.name for c in t.columns if c.name not in LOAD_TIME_COLUMNS].index(RUN_COLUMN[t.name])
        for row in tables[t.name]:
            out.setdefault(t.name, {}).setdefault(row[index], []).append(row)
    return out


class GcsServer:
    """fake-gcs-server seeded from `data`, on a port that stays the same across stop() and start()."""

    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stops = 0
        self._running = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._running is None:
                cm = fake_gcs_server(self.data, self.port)
                cm.__enter__()
                self._running = cm

    def stop(self) -> None:
        with self._lock:
            if self._running is not None:
                cm, self._running = self._running, None
                cm.__exit__(None, None, None)
                self.stops += 1
