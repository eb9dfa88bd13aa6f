"""Ingest: which runs are new, reading them, and loading their rows exactly once."""

from __future__ import annotations

from job_run_aggregator.ingest.upload import upload

__all__ = ["upload"]
