"""generate-job-names, prime-job-table, jobs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from job_run_aggregator.errors import InputError
from job_run_aggregator.jobs.names import generate_job_names as generate
from job_run_aggregator.jobs.primer import list_jobs, prime_job_table as prime
from job_run_aggregator.jobs.variants import DEFAULT_RELEASES, parse_releases
from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import (
    ARCHITECTURE, FROM_RELEASE, JSON, NETWORK, PLATFORM, RELEASE, TOPOLOGY, print_json,
)
from job_run_aggregator.pipeline import steps


RELEASES_OPT = typer.Option(
    None, "--releases", help="Comma-separated releases the Job Primer knows, e.g. 4.12,4.13 (default 4.8…5.x)."
)


def releases_option(ctx: typer.Context, releases: str | None) -> tuple[str, ...]:
    text = releases or ctx_of(ctx).settings.releases
    return parse_releases(text) if text else DEFAULT_RELEASES


@app.command("generate-job-names")
def generate_job_names(
    ctx: typer.Context,
    release_repo: Path = typer.Option(..., "--release-repo", help="Local checkout of openshift/release."),
    releases: str | None = RELEASES_OPT,
) -> None:
    """Print the job-name list built from an openshift/release checkout (DESIGN §5 format).

    Example: job-run-aggregator generate-job-names --release-repo ~/src/release --releases 4.13,4.14 > job-names.txt
    """
    result = generate(release_repo, releases_option(ctx, releases))
    stdout.out(result.text, end="")
    for p in result.problems:
        stderr.print(f"{p}", markup=False)
    if result.problems:
        raise InputError(f"{len(result.problems)} source file(s) could not be read; the others were processed")


@app.command("prime-job-table")
def prime_job_table(
    ctx: typer.Context,
    job_names_file: Path = typer.Option(..., "--job-names-file", help="File from generate-job-names."),
    releases: str | None = RELEASES_OPT,
    update: bool = typer.Option(False, "--update", help="Rewrite rows whose derived variant changed."),
    as_json: bool = JSON,
) -> None:
    """Insert the Jobs rows missing for the names in a job-name file; --update corrects changed ones.

    Example: job-run-aggregator prime-job-table --job-names-file job-names.txt --update
    """
    c = ctx_of(ctx)
    names = steps.read_job_names_file(job_names_file)
    wh = c.warehouse()
    with steps.writer_lock(wh, "prime-job-table", c.settings.lock_timeout, c.settings.dry_run):
        plan = prime(wh, names.text, releases_option(ctx, releases), update=update, dry_run=c.settings.dry_run)
    if c.settings.dry_run and not as_json:
        for row in plan.new:
            stdout.print(json.dumps(row), markup=False)
    for u in plan.updated:
        verb = "updated" if update and not c.settings.dry_run else "would update (use --update)"
        stderr.print(f"{u.job_name}: {verb}: " + "; ".join(map(str, u.changes)), markup=False)
    for p in plan.rejected:
        stderr.print(f"rejected {p}", markup=False)
    stderr.print(f"Jobs: {plan.summary()}", markup=False)
    if as_json:
        print_json({
            "dry_run": c.settings.dry_run, "source": names.source,
            "new": [row["JobName"] for row in plan.new], "unchanged": len(plan.unchanged),
            "updated": [u.job_name for u in plan.updated], "rejected": [str(p) for p in plan.rejected],
        })


@app.command("jobs")
def jobs(
    ctx: typer.Context,
    platform: str | None = PLATFORM,
    architecture: str | None = ARCHITECTURE,
    network: str | None = NETWORK,
    topology: str | None = TOPOLOGY,
    release: str | None = RELEASE,
    from_release: str | None = FROM_RELEASE,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List Jobs rows, filtered by variant.

    Example: job-run-aggregator jobs --platform aws --release 4.14 --json
    """
    rows = list_jobs(
        ctx_of(ctx).warehouse(read_only=True),
        {"Platform": platform, "Architecture": architecture, "Network": network, "Topology": topology,
         "Release": release, "FromRelease": from_release},
    )
    if as_json:
        stdout.out(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    t = Table("JobName", "Release", "From", "Platform", "Arch", "Network", "IPMode", "Topology")
    for r in rows:
        t.add_row(r["JobName"], r["Release"], r["FromRelease"], r["Platform"], r["Architecture"], r["Network"],
                  r["IPMode"], r["Topology"])
    stdout.print(t)
    stderr.print(f"{len(rows)} job(s)", markup=False)
