"""Backtests of the verdict rule sets on a warehouse's own history, with confidence intervals (issue 22)."""

from __future__ import annotations

from job_run_aggregator.backtest.report import render_markdown
from job_run_aggregator.backtest.runner import DEFAULT_RULES, BacktestReport, BacktestSpec, backtest, parse_plant
from job_run_aggregator.backtest.stats import is_planted, wilson_interval
from job_run_aggregator.backtest.tally import RuleSetTally, Tally

__all__ = [
    "DEFAULT_RULES",
    "BacktestReport",
    "BacktestSpec",
    "RuleSetTally",
    "Tally",
    "backtest",
    "is_planted",
    "parse_plant",
    "render_markdown",
    "wilson_interval",
]
