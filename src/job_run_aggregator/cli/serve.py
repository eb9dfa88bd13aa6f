"""serve: the read-only dashboard over the configured warehouse."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from job_run_aggregator.warehouse.base import Warehouse
from job_run_aggregator.cli.main import Context, app, ctx_of, stderr

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


@app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    historical_data: list[Path] = typer.Option(
        None, "--historical-data", help="query_results.json for the match explainer and compare page (repeatable)."
    ),
    min_job_runs: int = typer.Option(100, "--min-job-runs", help="Heat-map cells with fewer runs are greyed."),
    days: int = typer.Option(21, "--days", help="Default window in days."),
) -> None:
    """Serve the dashboard: heat map, trends, drill-down, compare, match explainer (read-only).

    Example: job-run-aggregator --warehouse duckdb:///./demo/ci_data.duckdb --bucket ./demo/ci-artifacts
    serve --port 8080
    """
    import uvicorn

    from job_run_aggregator.web import create_app

    settings = ctx_of(ctx).settings

    def open_warehouse() -> Warehouse:
        # A fresh read-only warehouse per request, closed after it: a DuckDB writer can run between page loads.
        return Context(settings).warehouse(read_only=True)

    web = create_app(
        open_warehouse, settings.bucket, historical_data or (), min_job_runs=min_job_runs, days=days,
        allowed_hosts=allowed_hosts(host),
    )
    shown = f"[{host}]" if ":" in host else host
    stderr.print(f"dashboard on http://{shown}:{port}/ over {settings.warehouse} (read-only); Ctrl-C stops it",
                 markup=False)
    uvicorn.run(web, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)


def allowed_hosts(host: str) -> list[str] | None:
    """Host headers to accept: loopback names when bound to loopback (a DNS-rebinding guard), else any."""
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return list(LOOPBACK_NAMES) if loopback else None
