"""The typer app, its global options, and the one place errors become exit codes."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from job_run_aggregator import network, retry
from job_run_aggregator.artifacts.buckets.base import Bucket, open_bucket
from job_run_aggregator.config import Settings, load_settings
from job_run_aggregator.errors import JraError, ResourceExhausted, one_line, resource_error
from job_run_aggregator.warehouse.base import Warehouse, open_warehouse


def _log_cause(exc: BaseException) -> None:
    """At --log-level debug, show the traceback behind a one-line resource error (memory, disk, threads).

    Only for those: other errors' causes can carry a credentials exchange, which never reaches a log.
    """
    log = logging.getLogger("job_run_aggregator")
    if log.isEnabledFor(logging.DEBUG):
        log.debug("traceback of the error below", exc_info=exc)


class OneLineConsole(Console):
    """A console whose text arguments print on one line each: control characters from data are escaped."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(one_line(o) if isinstance(o, str) else o for o in objects), **kwargs)


class OneLineFilter(logging.Filter):
    """Escape control characters in every log message (paths and names from data cannot forge a line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = one_line(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        return True


stderr = OneLineConsole(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


class JraGroup(TyperGroup):
    """Catch JraError once, at the top: `error: <message>` on stderr, the class's exit code, no traceback."""

    # `ctx: Any`: typer ≥ 0.29 types it as its vendored click's Context, older releases as click's.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except JraError as exc:
            if isinstance(exc, ResourceExhausted):
                _log_cause(exc)
            stderr.print(f"error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except (MemoryError, OSError, RuntimeError) as exc:
            # Out of memory, disk or threads anywhere (not only in a backend): one line and exit 7, not a traceback.
            mapped = resource_error(exc)
            if mapped is None:
                raise
            _log_cause(exc)
            stderr.print(f"error: {mapped}", markup=False)
            raise typer.Exit(mapped.exit_code) from None

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(super().list_commands(ctx))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Find the subcommand, then rewrite its old option names (cli/options.py ALIASES) to the current ones."""
        from job_run_aggregator.cli.options import rewrite_aliases

        name, command, rest = super().resolve_command(ctx, args)
        return name, command, rewrite_aliases(name or "", rest)


app = typer.Typer(
    cls=JraGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    # A bug's traceback must never print local variables: they can hold a key file's contents.
    pretty_exceptions_show_locals=False,
    help="OpenShift CI disruption historical data: ingest prow buckets, compute P95/P99, judge runs.",
)


@dataclass
class Context:
    """What every command builds its objects from."""

    settings: Settings
    _warehouse: Warehouse | None = field(default=None, repr=False)

    def warehouse(self, read_only: bool = False) -> Warehouse:
        if self._warehouse is None:
            s = self.settings
            self._warehouse = open_warehouse(
                s.warehouse, s.google_service_account_credential_file, read_only=read_only,
                maximum_bytes_billed=s.maximum_bytes_billed, job_timeout=s.bigquery_job_timeout,
                memory_limit=s.memory_limit,
            )
        return self._warehouse

    def bucket(self, url: str | None = None) -> Bucket:
        s = self.settings
        return open_bucket(
            url or s.bucket, anonymous=s.anonymous, credentials_file=s.google_service_account_credential_file
        )

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()


def ctx_of(ctx: typer.Context) -> Context:
    return ctx.obj  # set by the callback below


@app.callback()
def main(
    ctx: typer.Context,
    config: str | None = typer.Option(None, "--config", help="TOML config file (flags and JRA_* env override it)."),
    warehouse: str | None = typer.Option(
        None, "--warehouse", help="duckdb:///PATH (default duckdb:///./ci_data.duckdb) or bigquery://PROJECT/DATASET."
    ),
    bucket: str | None = typer.Option(None, "--bucket", help="Local folder (default ./ci-artifacts) or gs://BUCKET."),
    credentials: str | None = typer.Option(
        None, "--google-service-account-credential-file", help="Service-account key file (else ADC)."
    ),
    anonymous: bool | None = typer.Option(
        None, "--anonymous/--no-anonymous", help="Read a public GCS bucket anonymously."
    ),
    log_level: str | None = typer.Option(None, "--log-level", help="DEBUG, INFO, WARNING, ERROR."),
    dry_run: bool | None = typer.Option(
        None, "--dry-run/--no-dry-run", help="Print what would be written; write nothing."
    ),
    lock_timeout: float | None = typer.Option(
        None, "--lock-timeout", help="Seconds to wait for another writer (default 60)."
    ),
    maximum_bytes_billed: int | None = typer.Option(
        None, "--maximum-bytes-billed", help="BigQuery cost guard per query."
    ),
    memory_limit: str | None = typer.Option(
        None, "--memory-limit", help="DuckDB memory budget, e.g. 2GB (default: half the process's memory limit)."
    ),
) -> None:
    """Global options come before the subcommand: job-run-aggregator --warehouse URL --bucket DIR upload-all."""
    settings = load_settings(
        config,
        warehouse=warehouse,
        bucket=bucket,
        google_service_account_credential_file=credentials,
        anonymous=anonymous,
        log_level=log_level,
        dry_run=dry_run,
        lock_timeout=lock_timeout,
        maximum_bytes_billed=maximum_bytes_billed,
        memory_limit=memory_limit,
    )
    retry.configure(settings.retry_attempts, settings.retry_base_delay, settings.retry_max_delay,
                    settings.retry_deadline)
    network.configure(connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
                      deadline=settings.request_deadline, min_rate=settings.min_transfer_rate,
                      warn_after=settings.slow_request_warning)
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLineFilter())
    # Google client libraries log request details at DEBUG; keep credentials-bearing chatter out of our logs.
    for noisy in ("google", "urllib3", "google_auth_httplib2"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    # sqlglot notes each dialect rewrite it applies (e.g. "Applying array index offset") at INFO: not news to users.
    logging.getLogger("sqlglot").setLevel(max(logging.WARNING, logging.getLogger().level))
    context = Context(settings)
    ctx.obj = context
    ctx.call_on_close(context.close)
