"""What got worse, and since when: change points in every backend's (or alert's) per-run series, per variant."""

from __future__ import annotations

from job_run_aggregator.regressions.detect import ChangePoint, DetectOptions, Level, detect
from job_run_aggregator.regressions.report import Regression, RegressionReport, find_regressions, render_table
from job_run_aggregator.regressions.series import SeriesQuery

__all__ = ["ChangePoint", "DetectOptions", "Level", "Regression", "RegressionReport", "SeriesQuery", "detect",
           "find_regressions", "render_table"]
