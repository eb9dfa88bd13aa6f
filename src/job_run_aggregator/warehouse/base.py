"""The warehouse seam: a small Protocol, the URL → backend map, and what create-tables reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from job_run_aggregator.errors import ConfigError

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TableStatus:
    """Outcome of create-tables for one table: "created", "exists" or "drift" (with the difference)."""

    table: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TableStats:
    table: str
    rows: int | None  # None: table missing
    newest: Any = None  # newest job-run time, when the table has one


class Warehouse(Protocol):
    """Where rows live. SQL given to `query` is BigQuery dialect with bare table names."""

    dialect: str
    url: str

    def create_tables(self, dry_run: bool = False) -> list[TableStatus]: ...

    def load(self, batch: Mapping[str, Sequence[Row]]) -> dict[str, int]:
        """Insert rows of several tables atomically, skipping rows whose natural key exists; return inserted counts."""
        ...

    def replace(self, table: str, rows: Sequence[Row]) -> int:
        """Upsert rows by natural key (used to correct Jobs rows)."""
        ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    def stats(self) -> list[TableStats]: ...

    def lock(self, owner: str, timeout: float = 0.0) -> AbstractContextManager[None]:
        """Hold the writers' lock (raises LockBusy after `timeout` seconds)."""
        ...

    def close(self) -> None: ...


def parse_warehouse_url(url: str) -> tuple[str, str]:
    """Split `duckdb:///path` / `bigquery://project/dataset` into (scheme, rest)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _OPENERS:
        raise ConfigError(
            f"warehouse URL {url!r} not understood; use duckdb:///PATH or bigquery://PROJECT/DATASET"
        )
    return scheme, rest


def open_warehouse(
    url: str,
    credentials_file: str | None = None,
    read_only: bool = False,
    maximum_bytes_billed: int | None = None,
    **options: Any,
) -> Warehouse:
    """Open the warehouse a URL names (one dict maps scheme → opener).

    `read_only` and `maximum_bytes_billed` may be given for any URL: each engine uses the ones it has (DuckDB
    opens the file read-only, BigQuery caps the bytes a query bills) and ignores the other, so callers never ask
    which engine they got.
    """
    scheme, rest = parse_warehouse_url(url)
    return _OPENERS[scheme](rest, credentials_file, read_only, maximum_bytes_billed, **options)


def _open_duckdb(
    rest: str, credentials_file: str | None, read_only: bool, maximum_bytes_billed: int | None, **options: Any
) -> Warehouse:
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    # maximum_bytes_billed: a local file bills nothing.
    return DuckDBWarehouse(rest.removeprefix("/") if rest.startswith("/./") else rest, read_only=read_only, **options)


def _open_bigquery(
    rest: str, credentials_file: str | None, read_only: bool, maximum_bytes_billed: int | None, **options: Any
) -> Warehouse:
    from job_run_aggregator.warehouse.bigquery import BigQueryWarehouse

    # read_only: readers take no lock and open nothing exclusively in BigQuery, so there is no mode to choose.
    project, _, dataset = rest.partition("/")
    return BigQueryWarehouse(
        project or "openshift-ci-data-analysis", dataset or "ci_data", credentials_file=credentials_file,
        maximum_bytes_billed=maximum_bytes_billed, **options,
    )


_OPENERS = {"duckdb": _open_duckdb, "bigquery": _open_bigquery}
