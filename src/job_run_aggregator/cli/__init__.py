"""Thin command-line doors onto the library; importing the modules registers their commands."""

from __future__ import annotations

from job_run_aggregator.cli import aggregate
from job_run_aggregator.cli import history
from job_run_aggregator.cli import jobs
from job_run_aggregator.cli import matching
from job_run_aggregator.cli import origin
from job_run_aggregator.cli import regressions
from job_run_aggregator.cli import schedule
from job_run_aggregator.cli import serve
from job_run_aggregator.cli import tables
from job_run_aggregator.cli import upload  # noqa: F401  (registers commands)
from job_run_aggregator.cli.main import app

__all__ = ["app"]
