"""The dashboard (`serve`): a read-only Starlette app over the warehouse."""

from __future__ import annotations

from job_run_aggregator.web.app import create_app

__all__ = ["create_app"]
