"""backtest: how often each verdict rule set fails healthy runs and catches planted regressions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from job_run_aggregator.cli.history import utc
from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import parse_duration_option
from job_run_aggregator.errors import ConfigError


@app.command("backtest")
def backtest_cmd(
    ctx: typer.Context,
    data_type: str = typer.Option("disruptions", "--data-type", help="disruptions or alerts."),
    rules: str = typer.Option("2022,2023,current,calibrated:0.01", "--rules",
                              help="Comma-separated rule sets: 2022, 2023, current, calibrated:TARGET."),
    start: datetime = typer.Option(None, "--from", help="First step date, UTC (default: --to minus 90 days)."),
    end: datetime = typer.Option(None, "--to", help="End of the judged period, UTC (default: now)."),
    step: str = typer.Option("7d", "--step", help="Judge the runs of each step against the window before it."),
    window: str = typer.Option(None, "--window", help="History window in days (default: 21d, alerts 7d)."),
    plant: str = typer.Option(None, "--plant", help="SECONDS:SHARE added to a share of the (run, name) pairs."),
    seed: int = typer.Option(1, "--seed", help="Which pairs are planted (the same under every rule set)."),
    min_job_runs: int = typer.Option(100, "--min-job-runs", help="Job runs a match needs (current/2023 rules)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
) -> None:
    """Judge every run of the period against the history before it under each rule set; rates with 95% CIs.

    Example: job-run-aggregator backtest --from 2026-09-01 --to 2026-12-01 --step 7d --plant 30:0.05 --json
    """
    from datetime import timedelta

    from job_run_aggregator.backtest import BacktestSpec, backtest, parse_plant, render_markdown

    to = utc(end) or datetime.now(UTC).replace(microsecond=0)
    since = utc(start) or to - timedelta(days=90)
    seconds, share = parse_plant(plant)
    spec = BacktestSpec(
        start=since, end=to, data_type=data_type, rules=tuple(r.strip() for r in rules.split(",") if r.strip()),
        step=parse_duration_option(step), window=parse_duration_option(window) if window else None,
        plant_seconds=seconds, plant_share=share, seed=seed, min_job_runs=min_job_runs,
    )
    wh = ctx_of(ctx).warehouse(read_only=True)
    try:
        report = backtest(wh, spec, on_step=lambda s: stderr.print(
            f"step {s.start:%Y-%m-%d}: {s.runs} runs, {s.pairs} pairs, {s.history_rows} history rows", markup=False))
    finally:
        wh.close()
    data = report.to_json()
    if as_json:
        stdout.out(json.dumps(data, indent=2))
    else:
        stdout.out(render_markdown(data), end="")
    judged = sum(r.total.judged for r in report.rule_sets)
    stderr.print(f"backtest: {len(report.steps)} steps, {len(report.rule_sets)} rule sets, {judged} verdicts",
                 markup=False)


@app.command("export-calibration")
def export_calibration_cmd(
    ctx: typer.Context,
    target: str = typer.Option("0.01", "--target", help="False-failure rate of the Allowance column."),
    seconds: str = typer.Option("30", "--seconds",
                                help="The step the Allowance column is tuned to detect (calibrated:TARGET:SECONDS)."),
    data_type: str = typer.Option("disruptions", "--data-type", help="disruptions or alerts."),
    now: datetime | None = typer.Option(None, "--now", help="End of the window, UTC (default: now)."),
    days: int | None = typer.Option(None, "--days", help="Window of the matched rows (default 21, alerts 7)."),
    min_job_runs: int | None = typer.Option(None, "--min-job-runs", help="Rows need this many runs (default 100)."),
    out: Path | None = typer.Option(None, "--output-file", help="File to write (default: stdout)."),
) -> None:
    """Write each historical row's calibrated allowance and its cell's largest values (for calibrated:TARGET).

    Example: job-run-aggregator export-calibration --target 0.01 --output-file calibration.json
    && job-run-aggregator check-run --data backend_query_results.json --calibration calibration.json
    --rules calibrated:0.01 --run ./ci-artifacts/logs/<job>/<id>
    """
    from job_run_aggregator.history.percentiles import HistoryQuery
    from job_run_aggregator.matching.calibrated import export_calibration, parse_step_seconds, parse_target

    fraction = parse_target(target)
    try:
        step = parse_step_seconds(f"{target}:{seconds}")
    except ConfigError:
        raise ConfigError(f"export-calibration --seconds {seconds}: must be a positive number of seconds") from None
    q = HistoryQuery(data_type=data_type, now=utc(now), days=days, min_job_runs=min_job_runs)
    wh = ctx_of(ctx).warehouse(read_only=True)
    try:
        data, rows = export_calibration(wh, q, fraction, step)
    finally:
        wh.close()
    if out is None:
        stdout.out(data.decode(), end="")
    else:
        from job_run_aggregator.pipeline.steps import write_atomically

        write_atomically(out, data)
    stderr.print(f"export-calibration: {rows} rows at target {target}", markup=False)
