"""regressions: significant changes of level in every backend's (or alert's) per-run seconds, per variant."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import utc
from job_run_aggregator.regressions import SeriesQuery, find_regressions, render_table
from job_run_aggregator.regressions.series import DEFAULT_DAYS


@app.command("regressions")
def regressions_cmd(
    ctx: typer.Context,
    data_type: str = typer.Option("disruptions", "--data-type", help="disruptions or alerts."),
    release: str = typer.Option(None, "--release", help="Only this release's variants (default: all)."),
    days: int = typer.Option(DEFAULT_DAYS, "--days", help="Window length in days."),
    now: datetime | None = typer.Option(None, "--now", help="End of the window, UTC (default: now)."),
    min_runs: int = typer.Option(20, "--min-runs", help="Series with fewer runs in the window are not analysed."),
    as_json: bool = typer.Option(False, "--json", help="A JSON array, worst first."),
    improvements: bool = typer.Option(False, "--improvements", help="Also report changes for the better."),
) -> None:
    """Find where each backend × variant got worse inside the window, since which run, and how sure that is.

    Exit 0 whether or not anything is found.

    Example: job-run-aggregator regressions --data-type disruptions --release 4.14 --days 42 --json
    """
    q = SeriesQuery(data_type=data_type, now=utc(now), days=days, release=release, min_runs=min_runs)
    report = find_regressions(ctx_of(ctx).warehouse(read_only=True), q, improvements=improvements)
    if as_json:
        stdout.out(json.dumps(report.as_json(), indent=2))
    else:
        stdout.out(render_table(report), end="")
    stderr.print(f"regressions: {report.series} series analysed, {len(report.items)} change(s) reported",
                 markup=False)
