"""export-historical-data, analyze-historical-data, demo."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer

from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.upload import print_summary
from job_run_aggregator.errors import InputError
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
    release: list[str] = typer.Option(None, "--release", help="Release to write, e.g. 4.14; repeatable: several "
                                      "releases in one file, as origin's newest files (default: those of --like)."),
    data_type: str = typer.Option(None, "--data-type", help="disruptions or alerts (default: the format's, else "
                                  "disruptions)."),
    file_format: str = typer.Option(None, "--format", help=f"Columns of origin's era: {', '.join(FORMAT_NAMES)} "
                                    "(auto: those of --like); default: as the column flags give."),
    like: Path = typer.Option(None, "--like", help="A query_results.json (e.g. the one committed in origin) whose "
                              "format --format auto copies and whose releases are the default."),
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
    """Write query_results.json for one or more releases, byte for byte in the format origin embeds.

    Example: job-run-aggregator export-historical-data --format auto --like origin/pkg/monitortestlibrary/allowedalerts/query_results.json --out alerts.json
    """
    like_file = LikeFile(str(like), read_query_results(_read(like), str(like))) if like else None
    q, releases, fmt = export_query(
        file_format, like_file, data_type, release or (), parse_percentiles(percentiles) if percentiles else None,
        split_master_nodes, now=utc(now), days=days, min_job_runs=min_job_runs,
        partition_by_architecture=partition_by_architecture, alert_names=parse_alert_names(alert_names))
    data, n = export_historical_data(ctx_of(ctx).warehouse(read_only=True), q, releases, fmt)
    shown = ", ".join(releases)
    if out:
        out.write_bytes(data)
        stderr.print(f"wrote {n} {q.data_type} rows for {shown} to {out}", markup=False)
    else:
        stdout.out(data.decode(), end="")
    if n == 0:
        stderr.print(f"warning: no {q.data_type} rows for release {shown} in the window", markup=False)


@app.command("analyze-historical-data")
def analyze_cmd(
    ctx: typer.Context,
    current: Path = typer.Option(..., "--current", help="The query_results.json in use now."),
    new: Path = typer.Option(None, "--new", help="The new query_results.json (default: computed from the warehouse)."),
    data_type: str = DATA_TYPE_OPT,
    leeway: float = typer.Option(DEFAULT_LEEWAY_PERCENT, "--leeway", help="Percent a P99 may rise unreviewed."),
    target_release: str = typer.Option(None, "--target-release", help="Release to write (default: the newest)."),
    previous_release: str = typer.Option(None, "--previous-release",
                                         help="Release written when the target has too little data."),
    release: list[str] = typer.Option(None, "--release", help="Compare each of these releases on its own and write "
                                      "them all (repeatable; 'current': the releases of --current)."),
    file_format: str = typer.Option(None, "--format", help=f"Columns of the data computed from the warehouse: "
                                    f"{', '.join(FORMAT_NAMES)} (auto: those of --current)."),
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
        fmt = resolve_format(file_format, LikeFile(str(current), current_rows), None)
        if fmt is not None:
            q = query_for_format(fmt, data_type if data_type != "disruptions" else None, now=utc(now))
        else:
            q = history_query(data_type, now, None, None, None, False, False, None)
        new_rows = historical_rows(ctx_of(ctx).warehouse(read_only=True), q)
    if release:
        releases = releases_of(current_rows) if release == ["current"] else tuple(release)
        per_release = compare_releases(current_rows, new_rows, releases, leeway)
        report, output_rows, review = (render_releases_markdown(per_release), per_release.output_rows,
                                       needs_review_any(per_release))
    else:
        result = compare(current_rows, new_rows, leeway, target_release, previous_release)
        report, output_rows, review = render_markdown(result), result.output_rows, needs_review(result)
    if output_file:
        output_file.write_bytes(render_query_results(list(output_rows)))
    if pr_message:
        pr_message.write_text(report)
    else:
        stdout.out(report)
    stderr.print(report.splitlines()[0], markup=False)
    if review:
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
    stdout.print(f"Next: job-run-aggregator --warehouse duckdb:///{r.warehouse} --bucket {r.directory / 'ci-artifacts'} serve",
                 markup=False)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=str(path)) from None


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
