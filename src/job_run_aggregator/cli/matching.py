"""match and check-run: the best matcher and run verdicts over any query_results.json."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from job_run_aggregator.artifacts.observe import observe_run, open_run
from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import (
    ARCHITECTURE, FROM_RELEASE, NETWORK, ONE_JOB_HELP, PLATFORM, RELEASE, TOPOLOGY, read_input,
)
from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.matching.matcher import (
    ALERT, BACKEND, RULES, HistoricalData, JobType, Match, job_type_for, load_historical,
)
from job_run_aggregator.matching.verdicts import has_failures, judge_run, render_junit
from job_run_aggregator.pipeline import steps

RULES_OPT = typer.Option("current", "--rules", help=f"origin's rule sets: {', '.join(RULES)} (default current).")
MIN_RUNS_OPT = typer.Option(100, "--min-job-runs", help="Job runs an exact match needs (current/2023 rules).")


def read_data(path: Path, kind: str | None = None) -> HistoricalData:
    return load_historical(read_input(path), str(path), kind)


def job_type_from(job_name: str | None, release: str | None, from_release: str | None, platform: str | None,
                  architecture: str | None, network: str | None, topology: str | None) -> JobType:
    if job_name:
        return job_type_for(job_name)
    given = [release, platform, architecture, network, topology]
    if any(v is None for v in given):
        raise ConfigError("give --job, or all of --release --platform --architecture --network --topology "
                          "(and --from-release for upgrades)")
    return JobType(release or "", from_release or "", platform or "", architecture or "", network or "",
                   topology or "")


@app.command("match")
def match_cmd(
    data: Path = typer.Option(..., "--data", help="query_results.json (backend or alert data)."),
    job_name: str | None = typer.Option(None, "--job", help=ONE_JOB_HELP),
    release: str | None = RELEASE,
    from_release: str | None = FROM_RELEASE,
    platform: str | None = PLATFORM,
    architecture: str | None = ARCHITECTURE,
    network: str | None = NETWORK,
    topology: str | None = TOPOLOGY,
    backend: str | None = typer.Option(None, "--backend", help="Backend name, e.g. kube-api-new-connections."),
    alert: str | None = typer.Option(None, "--alert", help="Alert name, e.g. KubeAPIErrorBudgetBurn."),
    namespace: str | None = typer.Option(None, "--namespace", help="The alert's namespace (alert data only)."),
    level: str | None = typer.Option(None, "--level", help="The alert's level, e.g. Warning (alert data only)."),
    rules: str = RULES_OPT,
    min_job_runs: int = MIN_RUNS_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (or an array without a name)."),
) -> None:
    """Find the historical P95/P99 a job's variant gets, with origin's fallbacks, and say which key matched.

    Example: job-run-aggregator match --data backend_query_results.json
    --job periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn-upgrade --backend kube-api-new-connections
    --json
    """
    if backend and alert:
        raise ConfigError("give --backend or --alert, not both")
    history = read_data(data, ALERT if alert else (BACKEND if backend else None))
    job_type = job_type_from(job_name, release, from_release, platform, architecture, network, topology)
    name = backend or alert
    if name:
        m = history.best_match(name, job_type, rules, min_job_runs, namespace, level)
        if as_json:
            stdout.out(json.dumps(m.to_json()))
        else:
            stdout.print(describe_match(m), markup=False)
        return
    matches = history.match_all(job_type, rules, min_job_runs)
    if as_json:
        stdout.out(json.dumps([m.to_json() for m in matches], indent=2))
        return
    from rich.table import Table

    columns = ("name", "found", "P95", "P99", "runs", "matched JobType", "message")
    t = Table(*columns, title=f"{job_type.short()} ({rules})")
    for m in matches:
        key = m.matched_key
        t.add_row(m.requested_key.name, "yes" if m.found else "no", _num(m.p95), _num(m.p99),
                  "" if m.job_runs is None else str(m.job_runs), key.job_type.short() if key else "", m.message)
    stdout.print(t)


def describe_match(m: Match) -> str:
    if m.found and m.matched_key:
        head = f"{m.requested_key.name}: P95 {_num(m.p95)}s P99 {_num(m.p99)}s from {m.job_runs} runs of " \
               f"[{m.matched_key.job_type.short()}] ({m.rules} rules)"
    elif m.p99 is not None:
        head = f"{m.requested_key.name}: no match; the {m.rules} rules default to P95 {_num(m.p95)}s P99 {_num(m.p99)}s"
    else:
        head = f"{m.requested_key.name}: no data ({m.rules} rules)"
    return f"{head}\n{m.message}" if m.message else head


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


@app.command("check-run")
def check_run_cmd(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Backend query_results.json."),
    run: str = typer.Option(..., "--run", help="The run: a local folder or gs://bucket/logs/<job>/<id>."),
    alerts_data: Path | None = typer.Option(
        None, "--alerts-data", help="Alert query_results.json (judges alerts too)."
    ),
    job_name: str | None = typer.Option(
        None, "--job", help=f"{ONE_JOB_HELP} Default: spec.job of the run's prowjob.json."
    ),
    release: str | None = RELEASE,
    from_release: str | None = FROM_RELEASE,
    platform: str | None = PLATFORM,
    architecture: str | None = ARCHITECTURE,
    network: str | None = NETWORK,
    topology: str | None = TOPOLOGY,
    rules: str = RULES_OPT,
    min_job_runs: int = MIN_RUNS_OPT,
    junit: Path | None = typer.Option(None, "--junit", help="Write junit XML here."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
) -> None:
    """Judge one run's disruption (and alerts) against historical data the way origin does; exit 1 on failure.

    Example: job-run-aggregator check-run --data backend_query_results.json --alerts-data alerts_query_results.json
    --run ./ci-artifacts/logs/<job>/<id> --junit junit-disruption.xml
    """
    s = ctx_of(ctx).settings
    backend_data = read_data(data, BACKEND)
    alert_data = read_data(alerts_data, ALERT) if alerts_data else None
    bucket, prefix = open_run(run, s.anonymous, s.google_service_account_credential_file)
    obs = observe_run(bucket, prefix)
    for p in obs.problems:
        stderr.print(f"{p}", markup=False)
    flags = (release, from_release, platform, architecture, network, topology)
    if job_name is None and all(v is None for v in flags):
        if obs.prowjob is None:
            raise InputError("cannot tell the job: prowjob.json unreadable; pass --job or the JobType flags",
                             path=run)
        job_name = obs.prowjob.job_name
    job_type = job_type_from(job_name, *flags)
    if obs.disruption is None:
        stderr.print(f"{run}: no backend-disruption files; nothing to judge for disruption", markup=False)
    # Alerts are judged only when --alerts-data is given; otherwise each would be a skipped testcase nobody asked for.
    alerts = obs.alerts if alert_data is not None else None
    verdicts = judge_run(obs.disruption or {}, alerts, job_type, backend_data, alert_data, rules, min_job_runs)
    if junit:
        steps.write_atomically(junit, render_junit(verdicts, "BackendDisruption"))
    if as_json:
        stdout.out(json.dumps([v.to_json() for v in verdicts], indent=2))
    else:
        stdout.print(f"{job_name or run} [{job_type.short()}], {rules} rules", markup=False)
        for v in verdicts:
            stdout.print(f"{v.status.upper():<5} {v.test_name}\n      {v.reason}", markup=False)
    counts = {st: sum(1 for v in verdicts if v.status == st) for st in sorted({v.status for v in verdicts})}
    stderr.print("check-run: " + (", ".join(f"{n} {st}" for st, n in counts.items()) or "nothing judged"), markup=False)
    if has_failures(verdicts):
        raise typer.Exit(1)
