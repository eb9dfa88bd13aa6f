"""export-historical-data, analyze-historical-data, demo."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer

from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import (
    JSON, MIN_JOB_RUNS_EXPORT, NOW, OUTPUT_DIR_HELP, OUTPUT_FILE_HELP, print_json, read_input, utc,
)
from job_run_aggregator.cli.upload import print_summary, summary_json
from job_run_aggregator.errors import ConfigError
from job_run_aggregator.history.compare import (
    DEFAULT_LEEWAY_PERCENT,
    compare,
    compare_releases,
    needs_review,
    needs_review_any,
    render_markdown,
    render_releases_markdown,
)
from job_run_aggregator.history.export import LikeFile, export_query, releases_of, resolve_format
from job_run_aggregator.history.formats import FORMAT_NAMES
from job_run_aggregator.history.percentiles import (
    HistoryQuery,
    export_historical_data,
    historical_rows,
    parse_alert_names,
    parse_percentiles,
    query_for_format,
)
from job_run_aggregator.history.results_file import read_query_results, render_query_results
from job_run_aggregator.pipeline import steps
from job_run_aggregator.warehouse.duckdb import duckdb_url
from job_run_aggregator.regressions import Regression

DATA_TYPE_OPT = typer.Option(None, "--data-type", help="disruptions or alerts (default: disruptions, or the "
                             "--format's).")
NOW_OPT = NOW


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
    release: list[str] | None = typer.Option(
        None, "--target-release", help="Release to write, e.g. 4.14; repeatable: several releases in one file, as "
        "origin's newest files (default: those of --like, else the newest in Jobs)."),
    data_type: str | None = typer.Option(None, "--data-type", help="disruptions or alerts (default: the format's, "
                                         "else disruptions)."),
    file_format: str | None = typer.Option(None, "--format", help=f"Columns of origin's era: {', '.join(FORMAT_NAMES)}"
                                           " (auto: those of --like); default: as the column flags give."),
    like: Path | None = typer.Option(None, "--like", help="A query_results.json (e.g. the one committed in origin) "
                                     "whose format --format auto copies and whose releases are the default."),
    output_file: Path | None = typer.Option(None, "--output-file", help=f"{OUTPUT_FILE_HELP} (default: stdout)."),
    now: datetime | None = NOW_OPT,
    days: int | None = typer.Option(None, "--days", help="Window length (default 21 for disruptions, 7 for alerts)."),
    min_job_runs: int | None = MIN_JOB_RUNS_EXPORT,
    percentiles: str | None = typer.Option(None, "--percentiles", help="e.g. 50,75,95,99 (default 95,99)."),
    partition_by_architecture: bool = typer.Option(False, "--partition-by-architecture",
                                                   help="Corrected variant: percentiles per architecture too."),
    split_master_nodes: bool = typer.Option(False, "--split-master-nodes-updated",
                                            help="One row per MasterNodesUpdated value, as origin's newer files."),
    alert_names: str | None = typer.Option(
        None, "--alert-names", help="Comma list, or 'seed' for the seed's 15 alerts."
    ),
    as_json: bool = JSON,
) -> None:
    """Write query_results.json for one or more releases, byte for byte in the format origin embeds.

    Example: job-run-aggregator export-historical-data --format auto --like
    origin/pkg/monitortestlibrary/allowedalerts/query_results.json --output-file alerts.json
    """
    if as_json and output_file is None:
        raise ConfigError("--json needs --output-file: without it stdout carries the file itself")
    warehouse = ctx_of(ctx).warehouse(read_only=True)
    like_file = LikeFile(str(like), read_query_results(read_input(like), str(like))) if like else None
    wanted = tuple(release or ())
    if not wanted and like_file is None and file_format is None:
        wanted = (steps.newest_release(warehouse),)
    q, releases, fmt = export_query(
        file_format, like_file, data_type, wanted, parse_percentiles(percentiles) if percentiles else None,
        split_master_nodes, now=utc(now), days=days, min_job_runs=min_job_runs,
        partition_by_architecture=partition_by_architecture, alert_names=parse_alert_names(alert_names))
    data, n = export_historical_data(warehouse, q, releases, fmt)
    shown = ", ".join(releases)
    if output_file:
        steps.write_atomically(output_file, data)
        stderr.print(f"wrote {n} {q.data_type} rows for {shown} to {output_file}", markup=False)
    else:
        stdout.out(data.decode(), end="")
    if n == 0:
        stderr.print(f"warning: no {q.data_type} rows for release {shown} in the window", markup=False)
    if as_json:
        print_json({"data_type": q.data_type, "target_release": list(releases), "rows": n,
                    "output_file": str(output_file)})


@app.command("analyze-historical-data")
def analyze_cmd(
    ctx: typer.Context,
    current: Path = typer.Option(..., "--current", help="The query_results.json in use now."),
    new: Path | None = typer.Option(
        None, "--new", help="The new query_results.json (default: computed from the warehouse)."
    ),
    data_type: str | None = DATA_TYPE_OPT,
    leeway: float = typer.Option(DEFAULT_LEEWAY_PERCENT, "--leeway", help="Percent a P99 may rise unreviewed."),
    target_release: list[str] | None = typer.Option(
        None, "--target-release", help="The release the new file is for (default: the newest in either file); "
        "repeatable, or 'current' for the releases of --current: each compared on its own and all written."),
    previous_release: str | None = typer.Option(
        None, "--previous-release",
        help="Fallback release when a single target has too little data (default: the one before).",
    ),
    file_format: str | None = typer.Option(None, "--format", help=f"Columns of the data computed from the "
                                           f"warehouse: {', '.join(FORMAT_NAMES)} (auto: those of --current)."),
    output_file: Path | None = typer.Option(
        None, "--output-file", help=f"{OUTPUT_FILE_HELP}: the new target-release rows."
    ),
    pr_message: Path | None = typer.Option(None, "--pr-message", help="Write the markdown report here."),
    now: datetime | None = NOW_OPT,
    as_json: bool = JSON,
) -> None:
    """Compare new historical data with the current file; exit 0 = no review needed, 1 = review needed.

    Example: job-run-aggregator analyze-historical-data --current backend_query_results.json --data-type disruptions
    --output-file new.json --pr-message pr.md
    """
    current_rows = read_query_results(read_input(current), str(current))
    if new is not None:
        new_rows = read_query_results(read_input(new), str(new))
    else:
        fmt = resolve_format(file_format, LikeFile(str(current), current_rows), None)
        if fmt is not None:
            q = query_for_format(fmt, data_type, now=utc(now))
        else:
            q = history_query(data_type or "disruptions", now, None, None, None, False, False, None)
        new_rows = historical_rows(ctx_of(ctx).warehouse(read_only=True), q)
    targets = list(target_release or ())
    summary: dict[str, object]
    if targets == ["current"] or len(targets) > 1:
        releases = releases_of(current_rows) if targets == ["current"] else tuple(targets)
        per_release = compare_releases(current_rows, new_rows, releases, leeway)
        report, output_rows, review = (render_releases_markdown(per_release), per_release.output_rows,
                                       needs_review_any(per_release))
        summary = {"target_release": list(releases), "previous_release": None}
    else:
        result = compare(current_rows, new_rows, leeway, targets[0] if targets else None, previous_release)
        report, output_rows, review = render_markdown(result), result.output_rows, needs_review(result)
        summary = {"target_release": result.target_release, "previous_release": result.previous_release}
    if output_file:
        steps.write_atomically(output_file, render_query_results(list(output_rows)))
    if pr_message:
        steps.write_atomically(pr_message, report.encode())
    elif not as_json:
        stdout.out(report)
    stderr.print(report.splitlines()[0], markup=False)
    if as_json:
        print_json({
            "needs_review": review, **summary, "output_file": str(output_file) if output_file else None,
            "pr_message": str(pr_message) if pr_message else None, "report": report,
        })
    if review:
        raise typer.Exit(1)


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    directory: Path = typer.Option(
        Path("./demo"), "--output-dir", help=f"{OUTPUT_DIR_HELP}: the bucket, warehouse and files."
    ),
    jobs: int = typer.Option(12, "--jobs", help="Number of sample jobs (bigger: more data)."),
    days: int = typer.Option(21, "--days", help="Days of sample history."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the sample (same seed, same bucket)."),
    as_json: bool = JSON,
) -> None:
    """Generate sample data, create tables, prime jobs, upload, export both query_results files, summarise.

    Example: job-run-aggregator demo --output-dir ./demo --jobs 24
    """
    from job_run_aggregator.pipeline.demo import DEMO_RELEASE, run_demo

    r = run_demo(directory, jobs=jobs, days=days, seed=seed, workers=ctx_of(ctx).settings.workers)
    print_summary("upload-all", r.upload)
    if as_json:
        print_json({**{k: v for k, v in asdict(r).items() if k != "upload"}, "upload": summary_json(r.upload)})
        return
    stdout.print(f"Sample bucket: {r.directory / 'ci-artifacts'} ({r.runs_written} runs)", markup=False)
    stdout.print(f"Warehouse: {duckdb_url(r.warehouse)}", markup=False)
    stdout.print(f"Top backends by P99 ({DEMO_RELEASE} and older, last 21 days):", markup=False)
    for row in r.top_backends:
        stdout.print(
            f"  {row['BackendName']:<45} {row['Release']:>5} from {row['FromRelease'] or '-':<5} {row['Platform']:<8}"
            f" {row['Architecture']:<7} {row['Network']:<4} {row['Topology']:<7} runs {row['JobRuns']:>4}"
            f"  P95 {row['P95']:8.2f}s  P99 {row['P99']:8.2f}s", markup=False)
    stdout.print(f"Wrote {r.backend_file} ({r.backend_rows} rows) and {r.alerts_file} ({r.alerts_rows} rows)",
                 markup=False)
    stdout.print(f"Top regressions (change points in the last {days} days; all: job-run-aggregator "
                 f"--warehouse {duckdb_url(r.warehouse)} regressions):", markup=False)
    for item in r.regressions[:5]:
        stdout.print(f"  worse: {regression_line(item)}", markup=False)
    if not r.regressions:
        stdout.print("  none", markup=False)
    stdout.print(f"Next: job-run-aggregator --warehouse {duckdb_url(r.warehouse)} "
                 f"--bucket {r.directory / 'ci-artifacts'} serve", markup=False)


def regression_line(item: Regression) -> str:
    """One regression on one line: name, variant, since when, P50/P95 before → after, p-value, first run."""
    v, c = item.variant, item.change
    upgrade = f" from {v['FromRelease']}" if v["FromRelease"] else ""
    return (f"{item.name} {v['Release']}{upgrade} {v['Platform'] or '-'} {v['Architecture']} {v['Network']} "
            f"{v['Topology']} since {item.first_run.start:%Y-%m-%d %H:%M} UTC: P50 {c.before.p50:g} → "
            f"{c.after.p50:g} s, P95 {c.before.p95:.1f} → {c.after.p95:.1f} s (p {c.p_value:.0e}), first run "
            f"{item.first_run.job_name}/{item.first_run.job_run_name}")

