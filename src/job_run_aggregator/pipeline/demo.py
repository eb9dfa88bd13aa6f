"""The zero-setup demo: sample bucket → DuckDB → both query_results files, in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from job_run_aggregator.history.percentiles import (
    HistoryQuery, historical_rows, top_by_p99,
)
from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.model import ALERT_DATA, DISRUPTION_DATA, RunSummary
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.pipeline import steps
from job_run_aggregator.pipeline.sample_data import PlantedRegression, generate_sample_data, sample_job_names
from job_run_aggregator.regressions import Regression, SeriesQuery, find_regressions
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

DEMO_RELEASE = "4.14"
# The demo's planted step, so `regressions` and the dashboard have one to show: +30 s of kube-api on a 4.13 job
# from a week before now. Only 4.13 rows change, and both exported files hold 4.14 rows only (percentiles are
# partitioned by Release), so the exports stay byte-identical; the job's P99 stays far below the printed top five.
DEMO_PLANT_JOB = "periodic-ci-openshift-release-master-nightly-4.13-e2e-gcp-sdn"
DEMO_PLANT_BACKEND = "kube-api-new-connections"
DEMO_PLANT_SECONDS = 30
DEMO_PLANT_DAYS_AGO = 7


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
    regressions: list[Regression] = field(default_factory=list)  # worst first, over the demo's window


def demo_plant(jobs: int, now: datetime) -> tuple[PlantedRegression, ...]:
    """The demo's planted step (none when the demo has too few jobs to include its job)."""
    if DEMO_PLANT_JOB not in sample_job_names(jobs):
        return ()
    since = now - timedelta(days=DEMO_PLANT_DAYS_AGO)
    return (PlantedRegression(DEMO_PLANT_BACKEND, DEMO_PLANT_JOB, since, DEMO_PLANT_SECONDS),)


def run_demo(directory: Path, jobs: int = 12, days: int = 21, seed: int = 1, min_job_runs: int = 20,
             now: datetime | None = None, workers: int | None = None, plant: bool = True) -> DemoResult:
    """Generate sample data in `directory`, load it into `directory/ci_data.duckdb`, export both files.

    The sample has fewer runs per variant than production, so the demo lowers --min-job-runs to 20. With
    `plant`, one step change is planted (see DEMO_PLANT_JOB); the exported files are the same either way.
    """
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    directory.mkdir(parents=True, exist_ok=True)
    bucket_dir = directory / "ci-artifacts"
    sample = generate_sample_data(bucket_dir, jobs=jobs, days=days, seed=seed, now=now,
                                  plant_regressions=demo_plant(jobs, now) if plant else ())
    names_file = directory / "job-names.txt"
    names_file.write_text("".join(f"{n}\n" for n in sample_job_names(jobs)))
    wh = DuckDBWarehouse(directory / "ci_data.duckdb")
    try:
        with steps.writer_lock(wh, "demo", 60, dry_run=False):
            steps.create_tables(wh)
            prime_job_table(wh, steps.read_job_names_file(names_file).text)
            summary = upload(open_bucket(str(bucket_dir)), wh, workers=workers, now=lambda: now)
        backend_q = HistoryQuery(DISRUPTION_DATA.name, now=now, min_job_runs=min_job_runs)
        alerts_q = HistoryQuery(ALERT_DATA.name, now=now, min_job_runs=min_job_runs)
        backend = steps.export(wh, backend_q, DEMO_RELEASE)
        alerts = steps.export(wh, alerts_q, DEMO_RELEASE)
        top = [dict(r) for r in top_by_p99(historical_rows(wh, backend_q), 5)]
        found = list(find_regressions(wh, SeriesQuery(now=now, days=days)).items)
    finally:
        wh.close()
    backend_file, alerts_file = directory / DISRUPTION_DATA.export_file, directory / ALERT_DATA.export_file
    steps.write_atomically(backend_file, backend.data)
    steps.write_atomically(alerts_file, alerts.data)
    return DemoResult(directory, str(directory / "ci_data.duckdb"), sample.runs, summary, backend_file,
                      backend.rows, alerts_file, alerts.rows, top, found)
