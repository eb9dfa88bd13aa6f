"""export-historical-data, analyze-historical-data, demo."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer

from job_run_aggregator.history.compare import DEFAULT_LEEWAY_PERCENT, compare, needs_review, render_markdown
from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.history.percentiles import HistoryQuery, historical_rows, export_historical_data, parse_alert_names, parse_percentiles
from job_run_aggregator.history.results_file import read_query_results, render_query_results
from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.upload import print_summary
from job_run_aggregator.regressions import Regression

DATA_TYPE_OPT = typer.Option("disruptions", "--data-type", help="disruptions or alerts.")
NOW_OPT = typer.Option(None, "--now", help="End of the window, UTC (default: now).")


def history_query(data_type: str, now: datetime | None, days: int | None, min_job_runs: int | None,
                  percentiles: str | None, partition_by_architecture: bool, split_master_nodes: bool,
                  alert_names: str | None) -> HistoryQuery:
    return HistoryQuery(
        data_type=data_type, now=utc(now), days=days, min_job_runs=min_job_runs,
        percentiles=parse_percentiles(percentiles), partition_by_architecture=partition_by_architecture,
        split_master_nodes_updated=split_master_nodes, alert_names=parse_alert_names(alert_names),
    )


@app.command("export-historical-data")
def export_cmd(
    ctx: typer.Context,
    release: str = typer.Option(..., "--release", help="Target release, e.g. 4.14 (only its rows are written)."),
    data_type: str = DATA_TYPE_OPT,
    out: Path = typer.Option(None, "--out", help="File to write (default: stdout)."),
    now: datetime = NOW_OPT,
    days: int = typer.Option(None, "--days", help="Window length (default 21 for disruptions, 7 for alerts)."),
    min_job_runs: int = typer.Option(None, "--min-job-runs", help="Keep variants with at least this many runs "
                                     "(default 100 for disruptions, 0 for alerts)."),
    percentiles: str = typer.Option(None, "--percentiles", help="e.g. 50,75,95,99 (default 95,99)."),
    partition_by_architecture: bool = typer.Option(False, "--partition-by-architecture",
                                                   help="Corrected variant: percentiles per architecture too."),
    split_master_nodes: bool = typer.Option(False, "--split-master-nodes-updated",
                                            help="One row per MasterNodesUpdated value, as origin's newer files."),
    alert_names: str = typer.Option(None, "--alert-names", help="Comma list, or 'seed' for the seed's 15 alerts."),
) -> None:
    """Write query_results.json for one release, byte for byte in the format origin embeds.

    Example: job-run-aggregator export-historical-data --data-type disruptions --release 4.14 --out backend_query_results.json
    """
    q = history_query(data_type, now, days, min_job_runs, percentiles, partition_by_architecture,
                      split_master_nodes, alert_names)
    data, n = export_historical_data(ctx_of(ctx).warehouse(read_only=True), q, release)
    if out:
        out.write_bytes(data)
        stderr.print(f"wrote {n} {data_type} rows for {release} to {out}", markup=False)
    else:
        stdout.out(data.decode(), end="")
    if n == 0:
        stderr.print(f"warning: no {data_type} rows for release {release} in the window", markup=False)


@app.command("analyze-historical-data")
def analyze_cmd(
    ctx: typer.Context,
    current: Path = typer.Option(..., "--current", help="The query_results.json in use now."),
    new: Path = typer.Option(None, "--new", help="The new query_results.json (default: computed from the warehouse)."),
    data_type: str = DATA_TYPE_OPT,
    leeway: float = typer.Option(DEFAULT_LEEWAY_PERCENT, "--leeway", help="Percent a P99 may rise unreviewed."),
    target_release: str = typer.Option(None, "--target-release"),
    previous_release: str = typer.Option(None, "--previous-release"),
    output_file: Path = typer.Option(None, "--output-file", help="Write the new target-release rows here."),
    pr_message: Path = typer.Option(None, "--pr-message", help="Write the markdown report here."),
    now: datetime = NOW_OPT,
) -> None:
    """Compare new historical data with the current file; exit 0 = no review needed, 1 = review needed.

    Example: job-run-aggregator analyze-historical-data --current backend_query_results.json --data-type disruptions --output-file new.json --pr-message pr.md
    """
    current_rows = read_query_results(_read(current), str(current))
    if new is not None:
        new_rows = read_query_results(_read(new), str(new))
    else:
        q = history_query(data_type, now, None, None, None, False, False, None)
        new_rows = historical_rows(ctx_of(ctx).warehouse(read_only=True), q)
    result = compare(current_rows, new_rows, leeway, target_release, previous_release)
    report = render_markdown(result)
    if output_file:
        output_file.write_bytes(render_query_results(list(result.output_rows)))
    if pr_message:
        pr_message.write_text(report)
    else:
        stdout.out(report)
    stderr.print(report.splitlines()[0], markup=False)
    if needs_review(result):
        raise typer.Exit(1)


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    directory: Path = typer.Option(Path("./demo"), "--dir", help="Where to put the bucket, warehouse and files."),
    jobs: int = typer.Option(12, "--jobs", help="Number of sample jobs (bigger: more data)."),
    days: int = typer.Option(21, "--days", help="Days of sample history."),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Generate sample data, create tables, prime jobs, upload, export both query_results files, summarise.

    Example: job-run-aggregator demo --dir ./demo --jobs 24
    """
    from job_run_aggregator.pipeline.demo import DEMO_RELEASE, run_demo

    r = run_demo(directory, jobs=jobs, days=days, seed=seed, workers=ctx_of(ctx).settings.workers)
    print_summary("upload-all", r.upload)
    stdout.print(f"Sample bucket: {r.directory / 'ci-artifacts'} ({r.runs_written} runs)", markup=False)
    stdout.print(f"Warehouse: duckdb:///{r.warehouse}", markup=False)
    stdout.print(f"Top backends by P99 ({DEMO_RELEASE} and older, last 21 days):", markup=False)
    for row in r.top_backends:
        stdout.print(
            f"  {row['BackendName']:<45} {row['Release']:>5} from {row['FromRelease'] or '-':<5} {row['Platform']:<8}"
            f" {row['Architecture']:<7} {row['Network']:<4} {row['Topology']:<7} runs {row['JobRuns']:>4}"
            f"  P95 {row['P95']:8.2f}s  P99 {row['P99']:8.2f}s", markup=False)
    stdout.print(f"Wrote {r.backend_file} ({r.backend_rows} rows) and {r.alerts_file} ({r.alerts_rows} rows)",
                 markup=False)
    stdout.print(f"Top regressions (change points in the last {days} days; all: job-run-aggregator "
                 f"--warehouse duckdb:///{r.warehouse} regressions):", markup=False)
    for item in r.regressions[:5]:
        stdout.print(f"  worse: {regression_line(item)}", markup=False)
    if not r.regressions:
        stdout.print("  none", markup=False)
    stdout.print(f"Next: job-run-aggregator --warehouse duckdb:///{r.warehouse} --bucket {r.directory / 'ci-artifacts'} serve",
                 markup=False)


def regression_line(item: Regression) -> str:
    """One regression on one line: name, variant, since when, P50/P95 before → after, p-value, first run."""
    v, c = item.variant, item.change
    upgrade = f" from {v['FromRelease']}" if v["FromRelease"] else ""
    return (f"{item.name} {v['Release']}{upgrade} {v['Platform'] or '-'} {v['Architecture']} {v['Network']} "
            f"{v['Topology']} since {item.first_run.start:%Y-%m-%d %H:%M} UTC: P50 {c.before.p50:g} → "
            f"{c.after.p50:g} s, P95 {c.before.p95:.1f} → {c.after.p95:.1f} s (p {c.p_value:.0e}), first run "
            f"{item.first_run.job_name}/{item.first_run.job_run_name}")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=str(path)) from None


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
