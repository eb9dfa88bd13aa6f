"""upload-job-runs (alias upload-test-runs), upload-disruptions, upload-alerts, upload-all, generate-sample-data."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from job_run_aggregator.artifacts.buckets.base import DEFAULT_WORKERS, LOCAL_WORKERS
from job_run_aggregator.errors import TransientError
from job_run_aggregator.retry import time_budget
from job_run_aggregator.artifacts.runs import ALERTS, DISRUPTIONS, JOB_RUNS, KINDS
from job_run_aggregator.cli.main import Context, app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import JOB, JSON, OUTPUT_DIR_HELP, parse_duration_option, print_json, utc
from job_run_aggregator.cli.progress import upload_progress
from job_run_aggregator.ingest.upload import DEFAULT_LOOKBACK, BatchLimits, Progress, upload
from job_run_aggregator.model import RunSummary
from job_run_aggregator.pipeline import steps

JOB_OPT = JOB
SINCE_OPT = typer.Option(None, "--since", help="Only runs with a build id after this one.")
LOOKBACK_OPT = typer.Option(
    None, "--lookback", help="Re-check runs started this long before the newest loaded one (default 24h)."
)
WORKERS_OPT = typer.Option(None, "--workers", min=1, help=f"Concurrent run reads (default {DEFAULT_WORKERS} from GCS, "
                           f"{LOCAL_WORKERS} from a local folder).")


def run_upload(c: Context, kinds: tuple[str, ...], label: str, jobs: list[str] | None, since: str | None,
               lookback: str | None, workers: int | None, as_json: bool = False) -> RunSummary:
    """Build the objects, hold the writers' lock, upload, print the summary; exit non-zero if a run failed."""
    s = c.settings
    bucket, wh = c.bucket(), c.warehouse()

    def emit(table: str, row: dict[str, Any]) -> None:
        stdout.out(json.dumps({"table": table, "row": row}, default=str))

    jobs_before = getattr(wh, "jobs_run", None)  # BigQuery counts the jobs it starts
    committed = CommittedSoFar()
    try:
        with (steps.writer_lock(wh, label, s.lock_timeout, s.dry_run), upload_progress(label) as progress,
              time_budget(s.upload_deadline, label)):
            summary = upload(
                bucket, wh, kinds, job_patterns=jobs or (), since=since,
                lookback=parse_duration_option(lookback) if lookback else DEFAULT_LOOKBACK,
                workers=workers or s.workers, dry_run=s.dry_run, emit=emit, progress=committed.watch(progress),
                batch=BatchLimits(s.batch_rows, s.batch_runs), summary=committed.summary,
                retry_missing_for=parse_duration_option(s.retry_missing_for),
            )
    except TransientError as exc:
        # The one error line says what is safe: committed runs stay loaded, the next upload resumes after them.
        raise TransientError(f"{exc}; {committed.describe()}") from exc
    if jobs_before is not None:
        summary.bigquery_jobs = getattr(wh, "jobs_run", jobs_before) - jobs_before
    print_summary(label, summary, s.dry_run)
    if as_json:
        print_json({"command": label, "dry_run": s.dry_run, **summary_json(summary)})
    error = steps.upload_error(summary)
    if error is not None:
        raise error
    return summary


def summary_json(summary: RunSummary) -> dict[str, Any]:
    """An upload's counts as JSON (the `--json` summary of every uploading command); tables in name order."""
    counts = asdict(summary)
    counts["rows"] = dict(sorted(summary.rows.items()))
    return counts


def print_summary(label: str, s: RunSummary, dry_run: bool = False) -> None:
    stderr.print(f"{label}: {steps.describe_upload(s, dry_run)}", markup=False)


class CommittedSoFar:
    """The upload's counts as they commit, and the jobs done: what was committed when an upload stops on an error."""

    def __init__(self) -> None:
        self.summary = RunSummary(rows={})  # handed to upload(): runs and rows reach it as their batch commits
        self.jobs_done = 0

    def watch(self, progress: Progress) -> Progress:
        def advance(job: str, summary: RunSummary) -> None:
            self.jobs_done += 1
            progress.advance(job, summary)

        return replace(progress, advance=advance)

    def describe(self) -> str:
        s = self.summary
        if not s.loaded:
            return ("no run was committed before it, nothing partial; re-run when the service is back, "
                    "or let the next scheduled upload do it")
        rows = sum(s.rows.values())
        return (f"{s.loaded} run(s) ({rows} rows; {self.jobs_done} job(s) complete) were committed before it and "
                "stay loaded, nothing partial; re-run when the service is back, or let the next scheduled upload "
                "resume")


@app.command("upload-all")
def upload_all(
    ctx: typer.Context, job: list[str] | None = JOB_OPT, since: str | None = SINCE_OPT,
    lookback: str | None = LOOKBACK_OPT, workers: int | None = WORKERS_OPT, as_json: bool = JSON,
) -> None:
    """Run the job-run, disruption and alert uploaders in one pass over each run (each object read once).

    Example: job-run-aggregator --bucket ./ci-artifacts upload-all --job '*-e2e-aws-*' --workers 16
    """
    run_upload(ctx_of(ctx), KINDS, "upload-all", job, since, lookback, workers, as_json)


@app.command("upload-job-runs")
def upload_job_runs(
    ctx: typer.Context, job: list[str] | None = JOB_OPT, since: str | None = SINCE_OPT,
    lookback: str | None = LOOKBACK_OPT, workers: int | None = WORKERS_OPT, as_json: bool = JSON,
) -> None:
    """Load JobRuns and TestRuns (junit) rows for runs not yet loaded.

    Example: job-run-aggregator upload-job-runs --lookback 48h
    """
    run_upload(ctx_of(ctx), (JOB_RUNS,), "upload-job-runs", job, since, lookback, workers, as_json)


@app.command("upload-test-runs", hidden=True)
def upload_test_runs(
    ctx: typer.Context, job: list[str] | None = JOB_OPT, since: str | None = SINCE_OPT,
    lookback: str | None = LOOKBACK_OPT, workers: int | None = WORKERS_OPT, as_json: bool = JSON,
) -> None:
    """Alias of upload-job-runs (the Go tool's name).

    Example: job-run-aggregator upload-test-runs
    """
    run_upload(ctx_of(ctx), (JOB_RUNS,), "upload-test-runs", job, since, lookback, workers, as_json)


@app.command("upload-disruptions")
def upload_disruptions(
    ctx: typer.Context, job: list[str] | None = JOB_OPT, since: str | None = SINCE_OPT,
    lookback: str | None = LOOKBACK_OPT, workers: int | None = WORKERS_OPT, as_json: bool = JSON,
) -> None:
    """Load BackendDisruption rows (ceil per file, summed across files) for runs not yet loaded.

    Example: job-run-aggregator upload-disruptions --job 'periodic-ci-openshift-release-master-ci-4.14-*'
    """
    run_upload(ctx_of(ctx), (DISRUPTIONS,), "upload-disruptions", job, since, lookback, workers, as_json)


@app.command("upload-alerts")
def upload_alerts(
    ctx: typer.Context, job: list[str] | None = JOB_OPT, since: str | None = SINCE_OPT,
    lookback: str | None = LOOKBACK_OPT, workers: int | None = WORKERS_OPT, as_json: bool = JSON,
) -> None:
    """Load Alerts rows (summed across files, ceil once, zeros for known alerts) for runs not yet loaded.

    Example: job-run-aggregator upload-alerts
    """
    run_upload(ctx_of(ctx), (ALERTS,), "upload-alerts", job, since, lookback, workers, as_json)


@app.command("generate-sample-data")
def generate_sample_data(
    output_dir: Path = typer.Option(Path("./ci-artifacts"), "--output-dir", help=f"{OUTPUT_DIR_HELP}: the bucket."),
    jobs: int = typer.Option(12, "--jobs", help="Number of jobs."),
    days: int = typer.Option(21, "--days", help="Days of history."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same bytes)."),
    now: datetime | None = typer.Option(None, "--now", help="End of the history (default: now, UTC)."),
    job_names_file: Path | None = typer.Option(None, "--job-names-file", help="Also write the job-name list here."),
    payload_runs: int = typer.Option(
        0, "--payload-runs", help="Extra runs of one job for one payload (for analyze-job-runs)."
    ),
    payload_disruption_factor: float = typer.Option(1.0, "--payload-disruption-factor",
                                                    help="> 1 makes the payload's runs worse than history."),
    malformed: int = typer.Option(0, "--malformed", help="Runs that get one malformed backend-disruption file."),
    plant_regression: list[str] | None = typer.Option(
        None, "--plant-regression", help="BACKEND:JOB:DATE:SECONDS: from DATE (UTC) on, every run of JOB reports "
        "SECONDS more of BACKEND (repeatable; for `regressions`)."),
    as_json: bool = JSON,
    junit_cases: int = typer.Option(0, "--junit-cases", min=0, help="Extra junit test cases per run (real e2e "
                                    "runs: 3,000-5,000; the benchmark profile uses 3000; default 0: the demo's ~20)."),
    noise_objects: int = typer.Option(0, "--noise-objects", min=0, help="Unrelated objects per run, as real runs "
                                      "hold thousands (pod logs, must-gather); no uploader reads them."),
    extra_backends: int = typer.Option(0, "--extra-backends", min=0, help="More disruption backends per file "
                                       "(default 0: ~19 rows per run; 38 gives real volume's ~57)."),
    extra_alerts: int = typer.Option(0, "--extra-alerts", min=0, help="More kinds of alert that may fire "
                                     "(default 0: ~15 alert rows per run; 61 gives real volume's ~76)."),
) -> None:
    """Write a realistic prow bucket (prowjob/started/finished, disruption, alerts, cluster-data, junit).

    Example: job-run-aggregator generate-sample-data --output-dir ./ci-artifacts --jobs 50 --days 21 --seed 7
    """
    from job_run_aggregator.pipeline.sample_data import ArtifactShape, PayloadSpec, sample_job_names
    from job_run_aggregator.pipeline.sample_data import generate_sample_data as generate

    payload = PayloadSpec(runs=payload_runs, disruption_factor=payload_disruption_factor) if payload_runs else None
    from job_run_aggregator.pipeline.sample_data import parse_planted_regression

    plants = [parse_planted_regression(text) for text in plant_regression or ()]
    asked = ArtifactShape(junit_cases, noise_objects, extra_backends, extra_alerts)
    shape = asked if asked != ArtifactShape() else None
    summary = generate(output_dir, jobs=jobs, days=days, seed=seed, now=utc(now), payload=payload, malformed=malformed,
                       plant_regressions=plants, shape=shape)
    if job_names_file:
        steps.write_atomically(job_names_file, render_job_names_file(sample_job_names(jobs)).encode())
    stderr.print(f"wrote {summary.runs} runs of {summary.jobs} jobs ({summary.files} files) to {output_dir}",
                 markup=False)
    if payload_runs:
        stderr.print(f"payload {summary.payload_tag} (aggregation id {summary.aggregation_id}): "
                     f"{summary.payload_runs} runs", markup=False)
    if as_json:
        written = {k: v for k, v in asdict(summary).items() if k not in ("out", "job_names")}
        print_json({"output_dir": str(output_dir), "job_names_file": str(job_names_file) if job_names_file else None,
                    **written})


def render_job_names_file(names: list[str]) -> str:
    return "// generated by job-run-aggregator generate-sample-data\n" + "".join(f"{n}\n" for n in names)
