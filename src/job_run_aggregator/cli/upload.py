"""upload-job-runs (alias upload-test-runs), upload-disruptions, upload-alerts, upload-all, generate-sample-data."""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import typer

from job_run_aggregator.durations import parse_duration_option
from job_run_aggregator.errors import InputError
from job_run_aggregator.ingest.upload import DEFAULT_LOOKBACK, upload
from job_run_aggregator.model import RunSummary
from job_run_aggregator.artifacts.runs import ALERTS, DISRUPTIONS, JOB_RUNS, KINDS
from job_run_aggregator.cli.main import Context, app, ctx_of, stderr, stdout
from job_run_aggregator.cli.progress import upload_progress

JOB_OPT = typer.Option(None, "--job", help="Only jobs matching this glob (repeatable).")
SINCE_OPT = typer.Option(None, "--since", help="Only runs with a build id after this one.")
LOOKBACK_OPT = typer.Option(
    None, "--lookback", help="Re-check runs started this long before the newest loaded one (default 24h)."
)
WORKERS_OPT = typer.Option(None, "--workers", help="Concurrent object reads (default 8).")


def run_upload(c: Context, kinds: tuple[str, ...], label: str, jobs: list[str] | None, since: str | None,
               lookback: str | None, workers: int | None) -> RunSummary:
    """Build the objects, hold the writers' lock, upload, print the summary; exit non-zero if a run failed."""
    s = c.settings
    bucket, wh = c.bucket(), c.warehouse()

    def emit(table: str, row: dict) -> None:
        stdout.out(json.dumps({"table": table, "row": row}, default=str))

    lock = nullcontext() if s.dry_run else wh.lock(label, s.lock_timeout)
    with lock, upload_progress(label) as progress:
        summary = upload(
            bucket, wh, kinds, job_patterns=jobs or (), since=since,
            lookback=parse_duration_option(lookback) if lookback else DEFAULT_LOOKBACK,
            workers=workers or s.workers, dry_run=s.dry_run, emit=emit, progress=progress,
            retry_missing_for=parse_duration_option(s.retry_missing_for),
        )
    print_summary(label, summary, s.dry_run)
    if summary.failed:
        raise InputError(f"{summary.failed} run(s) failed to load; see the problems above (they are retried next time)")
    return summary


def print_summary(label: str, s: RunSummary, dry_run: bool = False) -> None:
    rows = ", ".join(f"{t} {n}" for t, n in sorted(s.rows.items())) or "none"
    verb = "would load" if dry_run else "loaded"
    stderr.print(
        f"{label}: jobs {s.jobs}, runs seen {s.seen}, {verb} {s.loaded}, already loaded {s.skipped}, "
        f"unfinished {s.unfinished}, failed {s.failed}; rows {verb}: {rows}; problems {len(s.problems)}",
        markup=False,
    )


@app.command("upload-all")
def upload_all(ctx: typer.Context, job: list[str] = JOB_OPT, since: str = SINCE_OPT, lookback: str = LOOKBACK_OPT,
               workers: int = WORKERS_OPT) -> None:
    """Run the job-run, disruption and alert uploaders in one pass over each run (each object read once).

    Example: job-run-aggregator --bucket ./ci-artifacts upload-all --job '*-e2e-aws-*' --workers 16
    """
    run_upload(ctx_of(ctx), KINDS, "upload-all", job, since, lookback, workers)


@app.command("upload-job-runs")
def upload_job_runs(ctx: typer.Context, job: list[str] = JOB_OPT, since: str = SINCE_OPT,
                    lookback: str = LOOKBACK_OPT, workers: int = WORKERS_OPT) -> None:
    """Load JobRuns and TestRuns (junit) rows for runs not yet loaded.

    Example: job-run-aggregator upload-job-runs --lookback 48h
    """
    run_upload(ctx_of(ctx), (JOB_RUNS,), "upload-job-runs", job, since, lookback, workers)


@app.command("upload-test-runs", hidden=True)
def upload_test_runs(ctx: typer.Context, job: list[str] = JOB_OPT, since: str = SINCE_OPT,
                     lookback: str = LOOKBACK_OPT, workers: int = WORKERS_OPT) -> None:
    """Alias of upload-job-runs (the Go tool's name).

    Example: job-run-aggregator upload-test-runs
    """
    run_upload(ctx_of(ctx), (JOB_RUNS,), "upload-test-runs", job, since, lookback, workers)


@app.command("upload-disruptions")
def upload_disruptions(ctx: typer.Context, job: list[str] = JOB_OPT, since: str = SINCE_OPT,
                       lookback: str = LOOKBACK_OPT, workers: int = WORKERS_OPT) -> None:
    """Load BackendDisruption rows (ceil per file, summed across files) for runs not yet loaded.

    Example: job-run-aggregator upload-disruptions --job 'periodic-ci-openshift-release-master-ci-4.14-*'
    """
    run_upload(ctx_of(ctx), (DISRUPTIONS,), "upload-disruptions", job, since, lookback, workers)


@app.command("upload-alerts")
def upload_alerts(ctx: typer.Context, job: list[str] = JOB_OPT, since: str = SINCE_OPT,
                  lookback: str = LOOKBACK_OPT, workers: int = WORKERS_OPT) -> None:
    """Load Alerts rows (summed across files, ceil once, zeros for known alerts) for runs not yet loaded.

    Example: job-run-aggregator upload-alerts
    """
    run_upload(ctx_of(ctx), (ALERTS,), "upload-alerts", job, since, lookback, workers)


@app.command("generate-sample-data")
def generate_sample_data(
    out: Path = typer.Option(Path("./ci-artifacts"), "--out", help="Folder to write the bucket into."),
    jobs: int = typer.Option(12, "--jobs", help="Number of jobs."),
    days: int = typer.Option(21, "--days", help="Days of history."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same bytes)."),
    now: datetime = typer.Option(None, "--now", help="End of the history (default: now, UTC)."),
    job_names_file: Path = typer.Option(None, "--job-names-file", help="Also write the job-name list here."),
    payload_runs: int = typer.Option(0, "--payload-runs", help="Extra runs of one job for one payload (for analyze-job-runs)."),
    payload_disruption_factor: float = typer.Option(1.0, "--payload-disruption-factor",
                                                    help="> 1 makes the payload's runs worse than history."),
    malformed: int = typer.Option(0, "--malformed", help="Runs that get one malformed backend-disruption file."),
    plant_regression: list[str] = typer.Option(
        None, "--plant-regression", help="BACKEND:JOB:DATE:SECONDS: from DATE (UTC) on, every run of JOB reports "
        "SECONDS more of BACKEND (repeatable; for `regressions`)."),
) -> None:
    """Write a realistic prow bucket (prowjob/started/finished, disruption, alerts, cluster-data, junit).

    Example: job-run-aggregator generate-sample-data --out ./ci-artifacts --jobs 50 --days 21 --seed 7
    """
    from job_run_aggregator.pipeline.sample_data import PayloadSpec, sample_job_names
    from job_run_aggregator.pipeline.sample_data import generate_sample_data as generate

    payload = PayloadSpec(runs=payload_runs, disruption_factor=payload_disruption_factor) if payload_runs else None
    from job_run_aggregator.pipeline.sample_data import parse_planted_regression

    plants = [parse_planted_regression(text) for text in plant_regression or ()]
    summary = generate(out, jobs=jobs, days=days, seed=seed, now=_utc(now), payload=payload, malformed=malformed,
                       plant_regressions=plants)
    if job_names_file:
        job_names_file.write_text(render_job_names_file(sample_job_names(jobs)))
    stderr.print(f"wrote {summary.runs} runs of {summary.jobs} jobs ({summary.files} files) to {out}", markup=False)
    if payload_runs:
        stderr.print(f"payload {summary.payload_tag} (aggregation id {summary.aggregation_id}): "
                     f"{summary.payload_runs} runs", markup=False)


def render_job_names_file(names: list[str]) -> str:
    return "// generated by job-run-aggregator generate-sample-data\n" + "".join(f"{n}\n" for n in names)


def _utc(moment: datetime | None) -> datetime | None:
    from datetime import timezone

    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
