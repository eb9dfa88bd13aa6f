"""Thin command-line doors onto the library; importing the modules registers their commands."""

from __future__ import annotations

from job_run_aggregator.cli import (  # noqa: F401  (importing a command module registers its commands)
    aggregate,
    history,
    jobs,
    matching,
    origin,
    regressions,
    schedule,
    serve,
    tables,
    upload,
)
from job_run_aggregator.cli.main import app

__all__ = ["app"]
