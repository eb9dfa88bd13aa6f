"""Aggregated disruption verdicts over the runs of one payload (DESIGN §9): table, checks, SQL, reports."""

from __future__ import annotations

from job_run_aggregator.aggregation.checks import (
    COLLECT_TEST_NAME,
    SUITE,
    CheckResult,
    HistoricalStats,
    backend_filter,
    check_backend,
    check_disruption,
    is_single_node,
)
from job_run_aggregator.aggregation.passes import format_pass_table, pass_table, required_passes, required_passes_row
from job_run_aggregator.aggregation.queries import (
    HISTORICAL_STATS_SQL, historical_stats_from_rows, history_params, history_window,
)
from job_run_aggregator.aggregation.report import render_html, render_junit

__all__ = [
    "COLLECT_TEST_NAME",
    "HISTORICAL_STATS_SQL",
    "SUITE",
    "CheckResult",
    "HistoricalStats",
    "backend_filter",
    "check_backend",
    "check_disruption",
    "format_pass_table",
    "historical_stats_from_rows",
    "history_params",
    "history_window",
    "is_single_node",
    "pass_table",
    "render_html",
    "render_junit",
    "required_passes",
    "required_passes_row",
]
