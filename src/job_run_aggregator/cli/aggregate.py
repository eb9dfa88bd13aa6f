"""analyze-job-runs: aggregated disruption and junit verdicts over the runs of one payload."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer

from job_run_aggregator.aggregation.runner import RunSelector, analyze_job_runs
from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import JSON, OUTPUT_DIR_HELP, parse_duration_option, print_json, utc


@app.command("analyze-job-runs")
def analyze_job_runs_cmd(
    ctx: typer.Context,
    job: str = typer.Option(..., "--job", help="The job whose runs are aggregated (its exact name)."),
    payload_tag: str | None = typer.Option(
        None, "--payload-tag", help="ProwJob annotation release.openshift.io/tag."
    ),
    aggregation_id: str | None = typer.Option(
        None, "--aggregation-id", help="Label release.openshift.io/aggregation-id."
    ),
    run_ids: str | None = typer.Option(None, "--run-ids", help="Comma-separated build ids."),
    working_dir: Path = typer.Option(
        Path("."), "--output-dir", help=f"{OUTPUT_DIR_HELP}: junit-aggregated.xml and the HTML report."
    ),
    timeout: str = typer.Option("5h30m", "--timeout", help="How long to wait for the runs to finish."),
    poll_interval: str = typer.Option("1m", "--poll-interval", help="How often to look again while waiting."),
    now: datetime | None = typer.Option(
        None, "--now", help="Judge as of this time, UTC (history is 10→3 days before)."
    ),
    exclude_backend: list[str] | None = typer.Option(None, "--exclude-backend",
                                                     help="Backend glob (or re:REGEX) not to judge; repeatable."),
    skip_single_node: bool = typer.Option(False, "--skip-single-node", help="Skip every check for single-node jobs."),
    search_recent: int = typer.Option(500, "--search-recent", help="How many newest run folders to search."),
    rules: str = typer.Option("current", "--rules",
                              help="Era of upstream's rules: current (default), 2023-10 or 2023-02 (README)."),
    history_job: str | None = typer.Option(None, "--history-job",
                                    help="Judge against this job's history (default: the job's own, or the "
                                         "previous release's job when it has fewer than 100 runs)."),
    informing_test: list[str] | None = typer.Option(None, "--informing-test",
                                             help="Glob of junit test names that never fail the payload (current "
                                                  "rules; names containing [Informing] always); repeatable."),
    as_json: bool = JSON,
) -> None:
    """Judge the runs of one payload against the job's own recent history; exit 1 when any check failed.

    Example: job-run-aggregator analyze-job-runs --job periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn-upgrade
    --payload-tag 4.14.0-0.ci-2026-11-27-101010 --output-dir ./out
    """
    from job_run_aggregator.aggregation.junit_tests import INFORMING_PATTERNS
    from job_run_aggregator.aggregation.rules import rules_for

    c = ctx_of(ctx)
    era = rules_for(rules)
    ids = tuple(i.strip() for i in (run_ids or "").split(",") if i.strip())
    selector = RunSelector(payload_tag, aggregation_id, ids)

    def on_wait(finished: int, total: int, waited: float) -> None:
        stderr.print(f"{selector.describe()}: {finished}/{total} runs finished after {waited:.0f}s", markup=False)

    from job_run_aggregator.jobs.primer import read_jobs

    wh = c.warehouse(read_only=True)
    row = read_jobs(wh).get(job)
    analysis = analyze_job_runs(
        c.bucket(), wh, job, selector, working_dir,
        now=utc(now) or datetime.now(timezone.utc),
        timeout=parse_duration_option(timeout),
        poll_interval=parse_duration_option(poll_interval).total_seconds(),
        job_prefix=row["GCSJobHistoryLocationPrefix"] if row else None,
        exclude_backends=exclude_backend or (), skip_single_node=skip_single_node, search_recent=search_recent,
        workers=c.settings.workers, on_wait=on_wait, rules=era, history_job=history_job,
        informing_patterns=(*INFORMING_PATTERNS, *(informing_test or ())),
    )
    for p in analysis.problems:
        stderr.print(str(p), markup=False)
    if analysis.unfinished:
        stderr.print(f"not finished in time (not judged): {', '.join(analysis.unfinished)}", markup=False)
    for r in analysis.results:
        if r.status != "passed" and not as_json:
            stdout.print(f"{r.status.upper():<7} {r.name}\n        {r.message.splitlines()[0] if r.message else ''}",
                         markup=False)
    for r in analysis.test_results:
        if r.status == "failed":
            stdout.print(f"FAILED  {r.name}\n        {r.message.splitlines()[0]}", markup=False)
    counts = {s: sum(r.status == s for r in analysis.results) for s in ("passed", "failed", "skipped")}
    tests_failed = sum(r.status == "failed" for r in analysis.test_results)
    if analysis.history_job != job:
        stderr.print(f"history from {analysis.history_job}", markup=False)
    stderr.print(
        f"analyze-job-runs: {len(analysis.runs)} runs, checks {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped; junit tests {len(analysis.test_results)} aggregated, {tests_failed} failed "
        f"({analysis.rules} rules); wrote {analysis.junit_path} and {analysis.html_path}", markup=False)
    if as_json:
        print_json({
            "job": job, "runs": len(analysis.runs), "unfinished": analysis.unfinished, **counts,
            "failed_checks": [r.name for r in analysis.results if r.status == "failed"],
            "junit": str(analysis.junit_path), "html": str(analysis.html_path),
        })
    if analysis.failed:
        raise typer.Exit(1)
