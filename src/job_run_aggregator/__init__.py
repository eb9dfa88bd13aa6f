"""job-run-aggregator: OpenShift CI disruption historical data, on DuckDB or BigQuery.

The library behind the `job-run-aggregator` command; every command is a thin door onto one of these.
"""

from __future__ import annotations

from job_run_aggregator.artifacts.buckets.base import Bucket, open_bucket
from job_run_aggregator.config import Settings, load_settings
from job_run_aggregator.errors import (
    ConfigError, InputError, JraError, LockBusy, SchemaDrift, TableMissing, TransientError,
)
from job_run_aggregator.history.percentiles import HistoryQuery, export_historical_data, historical_rows
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.matching.matcher import HistoricalData, JobType, job_type_for, load_historical
from job_run_aggregator.model import ProwJob, RunSummary, Variant
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.warehouse.base import Warehouse, open_warehouse

__version__ = "0.1.0"

__all__ = [
    "Bucket",
    "ConfigError",
    "HistoricalData",
    "HistoryQuery",
    "InputError",
    "JobType",
    "JraError",
    "LockBusy",
    "ProwJob",
    "RunSummary",
    "SchemaDrift",
    "Settings",
    "TableMissing",
    "TransientError",
    "Variant",
    "Warehouse",
    "export_historical_data",
    "historical_rows",
    "job_type_for",
    "load_historical",
    "load_settings",
    "open_bucket",
    "open_warehouse",
    "prime_job_table",
    "upload",
    "variant_for",
]
