"""update-origin: the weekly origin update (export, compare, commit, push, pull request) as one command."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

from job_run_aggregator.cli.history import NOW_OPT, utc
from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.history.compare import DEFAULT_LEEWAY_PERCENT
from job_run_aggregator.pipeline.update_origin import UpdateOriginOptions, update_origin


@app.command("update-origin")
def update_origin_cmd(
    ctx: typer.Context,
    origin_dir: Path = typer.Option(..., "--origin-dir", help="An openshift/origin checkout (either era's layout)."),
    branch: str = typer.Option(None, "--branch", help="Branch to commit on (default jra-historical-data-DATE)."),
    release: list[str] = typer.Option(None, "--release", help="Releases to write, repeatable (default: those the "
                                      "committed files hold)."),
    push: str = typer.Option(None, "--push", metavar="REMOTE", help="Push the branch to this remote (name or URL)."),
    open_pr: bool = typer.Option(False, "--open-pr", help="Open the pull request on GitHub (token from "
                                 "GITHUB_TOKEN; needs --push)."),
    github_repo: str = typer.Option("openshift/origin", "--github-repo", help="Repository the PR goes to."),
    base: str = typer.Option(None, "--base", help="The PR's base branch (default: the branch checked out)."),
    head_owner: str = typer.Option(None, "--head-owner", help="Owner of the fork pushed to (default: from the "
                                   "push remote's URL)."),
    author: str = typer.Option(None, "--author", help="Commit author 'Name <email>' (default: git's config)."),
    leeway: float = typer.Option(DEFAULT_LEEWAY_PERCENT, "--leeway", help="Percent a P99 may rise unreviewed."),
    min_job_runs: int = typer.Option(None, "--min-job-runs", help="Keep variants with at least this many runs "
                                     "(default 100 for disruptions, 0 for alerts)."),
    now: datetime = NOW_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout instead of the PR text."),
) -> None:
    """Export both query_results files in the checkout's formats, compare, and commit them on a new branch.

    Prints the PR title and body; nothing is committed when nothing changed.

    Example: job-run-aggregator update-origin --origin-dir ~/src/origin --push fork --open-pr
    """
    options = UpdateOriginOptions(
        origin_dir=origin_dir, branch=branch, releases=tuple(release or ()), push=push, open_pr=open_pr,
        now=utc(now), leeway=leeway, min_job_runs=min_job_runs, base=base, github_repo=github_repo,
        head_owner=head_owner, author=author,
    )
    result = update_origin(ctx_of(ctx).warehouse(read_only=True), options)
    for note in result.notes:
        stderr.print(f"warning: {note}", markup=False)
    if as_json:
        stdout.out(json.dumps(result.to_json(), indent=2))
    else:
        stdout.out(f"{result.title}\n\n{result.body}")
    stderr.print(result.summary(), markup=False)
