"""Thin command-line doors onto the library; importing the modules registers their commands."""

from __future__ import annotations

from . import aggregate, history, jobs, matching, schedule, serve, tables, upload  # noqa: F401  (registers commands)
from .main import app

__all__ = ["app"]
