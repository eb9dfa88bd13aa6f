"""A bucket big enough that an upload takes a second or two, and a warehouse file ready for it (tables, Jobs)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from ingest.processes import run_cli

from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A bucket of 6 jobs x 6 days with 2 malformed files, and a DuckDB file with tables and Jobs but no runs."""
    base = tmp_path_factory.mktemp("prepared")
    bucket = base / "bucket"
    generate_sample_data(bucket, jobs=6, days=6, seed=21, now=NOW, malformed=2)
    (base / "jobs.txt").write_text("\n".join(sample_job_names(6)) + "\n")
    template = base / "template.duckdb"
    url = f"duckdb:///{template}"
    run_cli("--warehouse", url, "create-tables")
    run_cli("--warehouse", url, "prime-job-table", "--job-names-file", str(base / "jobs.txt"))
    return bucket, template
