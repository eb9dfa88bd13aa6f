"""schedule: keep a warehouse current on one machine (job-table-updater → upload-all → exports, every period)."""

from __future__ import annotations

from pathlib import Path

import typer

from job_run_aggregator.pipeline.update_origin import UpdateOriginOptions
from job_run_aggregator.artifacts.buckets.base import Bucket
from job_run_aggregator.cli.main import Context, app, ctx_of
from job_run_aggregator.cli.options import OUTPUT_DIR_HELP, parse_duration_option, print_json
from job_run_aggregator.cli.progress import upload_progress
from job_run_aggregator.cli.upload import LOOKBACK_OPT, WORKERS_OPT
from job_run_aggregator.ingest.upload import DEFAULT_LOOKBACK, BatchLimits
from job_run_aggregator.jobs.variants import DEFAULT_RELEASES, parse_releases
from job_run_aggregator.pipeline.schedule import (
    STEPS, CycleConfig, CycleResult, StopFlag, run_schedule, stop_on_signals,
)
from job_run_aggregator.warehouse.base import Warehouse


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    every: str = typer.Option("4h", "--every", help="Period between cycle starts, e.g. 4h, 30m."),
    once: bool = typer.Option(False, "--once", help="Run one cycle and exit (non-zero when a step failed)."),
    export_dir: Path | None = typer.Option(
        None, "--output-dir", help=f"{OUTPUT_DIR_HELP}: both query_results files (no exports without it)."
    ),
    release: str | None = typer.Option(
        None, "--target-release", help="Release to export (default: the newest in Jobs)."
    ),
    job_names_file: Path | None = typer.Option(None, "--job-names-file", help="Prime Jobs from this job-name file."),
    release_repo: Path | None = typer.Option(
        None, "--release-repo", help="Prime Jobs from this openshift/release checkout."
    ),
    only: list[str] | None = typer.Option(None, "--only", metavar="STEP",
                                          help=f"Run only these steps (repeatable): {', '.join(STEPS)}."),
    update_jobs: bool = typer.Option(True, "--update-jobs/--no-update-jobs",
                                     help="Rewrite Jobs rows whose derived variant changed."),
    min_job_runs: int | None = typer.Option(None, "--min-job-runs", help="Exports keep variants with at least this "
                                            "many runs (default 100 for disruptions, 0 for alerts)."),
    lookback: str | None = LOOKBACK_OPT,
    workers: int | None = WORKERS_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print each cycle's steps as one JSON line on stdout."),
    origin_dir: Path | None = typer.Option(None, "--origin-dir", help="Also run update-origin on this openshift/origin "
                                    "checkout every --update-origin-every."),
    update_origin_every: str = typer.Option("7d", "--update-origin-every", help="Period between origin updates."),
    origin_push: str | None = typer.Option(None, "--origin-push", metavar="REMOTE", help="update-origin's --push."),
    origin_open_pr: bool = typer.Option(False, "--origin-open-pr", help="update-origin's --open-pr."),
) -> None:
    """Run the job-table-updater, upload-all and the exports every period, holding the writers' lock per cycle.

    A failed step is logged and retried next period; SIGTERM/SIGINT stop cleanly between commits.

    Example: job-run-aggregator schedule --every 4h --release-repo ~/src/release --output-dir ./exports
    """
    c = ctx_of(ctx)
    s = c.settings
    config = CycleConfig(
        job_names_file=job_names_file or (Path(s.job_names_file) if s.job_names_file else None),
        release_repo=release_repo or (Path(s.release_repo) if s.release_repo else None),
        releases=parse_releases(s.releases) if s.releases else DEFAULT_RELEASES,
        update_jobs=update_jobs,
        export_dir=export_dir,
        release=release,
        min_job_runs=min_job_runs,
        steps=tuple(only) if only else STEPS,
        lookback=parse_duration_option(lookback) if lookback else DEFAULT_LOOKBACK,
        workers=workers or s.workers,
        batch=BatchLimits(s.batch_rows, s.batch_runs),
        lock_timeout=s.lock_timeout,
        dry_run=s.dry_run,
        origin=UpdateOriginOptions(origin_dir, push=origin_push, open_pr=origin_open_pr) if origin_dir else None,
        update_origin_every=parse_duration_option(update_origin_every),
    )

    def open_objects() -> tuple[Bucket, Warehouse]:
        # A fresh Context per cycle: its warehouse is closed after the cycle, so nothing is held while sleeping.
        cycle = Context(s)
        return cycle.bucket(), cycle.warehouse()

    stop = StopFlag()
    with stop_on_signals(stop):
        code = run_schedule(open_objects, config, parse_duration_option(every), once=once, stop=stop,
                            progress=lambda: upload_progress("upload-all"),
                            on_cycle=print_cycle if as_json else None)
    if code:
        raise typer.Exit(code)


def print_cycle(result: CycleResult) -> None:
    """One cycle as a JSON line: its steps (ok, summary, exit code), whether it was stopped, its exit code."""
    print_json({
        "steps": [{"step": s.step, "ok": s.ok, "summary": s.summary, "exit_code": s.exit_code} for s in result.steps],
        "stopped": result.stopped, "exit_code": result.exit_code,
    })
