"""Aggregated verdicts over the runs of one payload (DESIGN §9): rule eras, checks, junit tests, SQL, reports."""

from __future__ import annotations

from job_run_aggregator.aggregation.checks import (
    COLLECT_TEST_NAME,
    SUITE,
    CheckResult,
    HistoricalStats,
    PercentileVerdict,
    backend_filter,
    check_backend,
    check_disruption,
    is_single_node,
    judge_percentile,
)
from job_run_aggregator.aggregation.junit_tests import TestHistory, TestTally, judge_test, judge_tests, tally_tests
from job_run_aggregator.aggregation.passes import format_pass_table, pass_table, required_passes, required_passes_row
from job_run_aggregator.aggregation.queries import (
    HISTORICAL_STATS_SQL,
    TEST_HISTORY_SQL,
    historical_stats_from_rows,
    history_params,
    history_window,
)
from job_run_aggregator.aggregation.report import render_html, render_junit
from job_run_aggregator.aggregation.rules import RULE_NAMES, RuleSet, rules_for

__all__ = [
    "COLLECT_TEST_NAME",
    "HISTORICAL_STATS_SQL",
    "RULE_NAMES",
    "SUITE",
    "TEST_HISTORY_SQL",
    "CheckResult",
    "HistoricalStats",
    "PercentileVerdict",
    "RuleSet",
    "TestHistory",
    "TestTally",
    "backend_filter",
    "check_backend",
    "check_disruption",
    "format_pass_table",
    "historical_stats_from_rows",
    "history_params",
    "history_window",
    "is_single_node",
    "judge_percentile",
    "judge_test",
    "judge_tests",
    "pass_table",
    "render_html",
    "render_junit",
    "required_passes",
    "required_passes_row",
    "rules_for",
    "tally_tests",
]
