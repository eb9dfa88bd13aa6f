"""The zero-setup demo: sample bucket → DuckDB → both query_results files, in one call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from job_run_aggregator.history.percentiles import (
    HistoryQuery, historical_rows, top_by_p99,
)
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.model import ALERT_DATA, DISRUPTION_DATA, RunSummary
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.pipeline import steps
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

DEMO_RELEASE = "4.14"


@dataclass(frozen=True, slots=True)
class DemoResult:
    directory: Path
    warehouse: str
    runs_written: int
    upload: RunSummary
    backend_file: Path
    backend_rows: int
    alerts_file: Path
    alerts_rows: int
    top_backends: list[dict[str, Any]]


def run_demo(directory: Path, jobs: int = 12, days: int = 21, seed: int = 1, min_job_runs: int = 20,
             now: datetime | None = None, workers: int = 8) -> DemoResult:
    """Generate sample data in `directory`, load it into `directory/ci_data.duckdb`, export both files.

    The sample has fewer runs per variant than production, so the demo lowers --min-job-runs to 20.
    """
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    directory.mkdir(parents=True, exist_ok=True)
    bucket_dir = directory / "ci-artifacts"
    sample = generate_sample_data(bucket_dir, jobs=jobs, days=days, seed=seed, now=now)
    names_file = directory / "job-names.txt"
    names_file.write_text("".join(f"{n}\n" for n in sample_job_names(jobs)))
    from job_run_aggregator.artifacts.buckets.local import LocalBucket

    wh = DuckDBWarehouse(directory / "ci_data.duckdb")
    try:
        with steps.writer_lock(wh, "demo", 60, dry_run=False):
            steps.create_tables(wh)
            prime_job_table(wh, steps.read_job_names_file(names_file).text)
            summary = upload(LocalBucket(bucket_dir), wh, workers=workers, now=lambda: now)
        backend_q = HistoryQuery(DISRUPTION_DATA.name, now=now, min_job_runs=min_job_runs)
        alerts_q = HistoryQuery(ALERT_DATA.name, now=now, min_job_runs=min_job_runs)
        backend = steps.export(wh, backend_q, DEMO_RELEASE)
        alerts = steps.export(wh, alerts_q, DEMO_RELEASE)
        top = [dict(r) for r in top_by_p99(historical_rows(wh, backend_q), 5)]
    finally:
        wh.close()
    backend_file, alerts_file = directory / DISRUPTION_DATA.export_file, directory / ALERT_DATA.export_file
    steps.write_atomically(backend_file, backend.data)
    steps.write_atomically(alerts_file, alerts.data)
    return DemoResult(directory, str(directory / "ci_data.duckdb"), sample.runs, summary, backend_file,
                      backend.rows, alerts_file, alerts.rows, top)
