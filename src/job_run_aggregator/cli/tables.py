"""create-tables and status."""

from __future__ import annotations

import json

import typer

from job_run_aggregator.cli.main import app, ctx_of, stderr, stdout
from job_run_aggregator.cli.options import JSON, print_json
from job_run_aggregator.pipeline import steps


@app.command("create-tables")
def create_tables(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Create the dataset and every table, idempotently; report drift of existing tables without touching them.

    Example: job-run-aggregator --warehouse duckdb:///./ci_data.duckdb create-tables
    """
    c = ctx_of(ctx)
    s = c.settings
    wh = c.warehouse()
    with steps.writer_lock(wh, "create-tables", s.lock_timeout, s.dry_run):
        results = steps.create_tables(wh, dry_run=s.dry_run)
    for r in results:
        if r.outcome == "drift":
            stderr.print(f"{r.table}: differs from the definition: {r.detail}", markup=False)
        elif as_json:
            continue
        elif r.outcome == "exists":
            stdout.print(f"{r.table}: already exists")
        else:
            stdout.print(f"{r.table}: {r.outcome}", markup=False)
            if c.settings.dry_run:
                stdout.print(r.detail, markup=False)
    if as_json:
        print_json([{"table": r.table, "outcome": r.outcome, "detail": r.detail} for r in results])
    drift = steps.drift_error(results)
    if drift is not None:
        raise drift


@app.command("status")
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """Per table: row count and newest job-run time.

    Example: job-run-aggregator status --json
    """
    stats = ctx_of(ctx).warehouse(read_only=True).stats()
    problems = next((s.rows for s in stats if s.table == "LoadProblems"), None)
    if as_json:
        out = [{"table": s.table, "rows": s.rows, "newest": s.newest.isoformat() if s.newest else None} for s in stats]
        stdout.print(json.dumps(out, indent=2), markup=False)
        return
    from rich.table import Table

    t = Table("table", "rows", "newest job-run time")
    for s in stats:
        t.add_row(s.table, "missing" if s.rows is None else str(s.rows), s.newest.isoformat() if s.newest else "")
    stdout.print(t)
    if problems:
        stderr.print(f"{problems} artifact problem(s) recorded in LoadProblems", markup=False)
