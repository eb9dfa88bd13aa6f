"""The warehouse seam: a small Protocol, the URL → backend map, and what create-tables reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from job_run_aggregator.errors import ConfigError

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an engine can do, declared as data on its class (dlt style); code outside warehouse/ reads these,
    never the engine's name."""

    # PERCENTILE_CONT usable as an aggregate (GROUP BY), not only as an analytic function.
    percentile_aggregate: bool = False
    # Keys are enforced with indexes, so tables with `indexed_key=False` are stored without them.
    key_indexes: bool = False
    # Several tables' rows commit in one transaction (else: marker tables last, MERGE keeps re-loads single).
    multi_table_transactions: bool = False


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
    capabilities: Capabilities

    def create_tables(self, dry_run: bool = False) -> list[TableStatus]: ...

    def load(self, batch: Mapping[str, Sequence[Row]]) -> dict[str, int]:
        """Insert rows of several tables, skipping rows already loaded; return inserted counts.

        Rows of a table with `loaded_by` are skipped when their run's marker row is already loaded (give a run's
        data rows and its marker row in one batch); other tables skip rows whose natural key exists. Atomic where
        `capabilities.multi_table_transactions`; elsewhere marker tables go last and re-loads stay single.
        """
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


def open_warehouse(url: str, credentials_file: str | None = None, **options: Any) -> Warehouse:
    """Open the warehouse a URL names (one dict maps scheme → opener)."""
    scheme, rest = parse_warehouse_url(url)
    return _OPENERS[scheme](rest, credentials_file, **options)


def _open_duckdb(rest: str, credentials_file: str | None, **options: Any) -> Warehouse:
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(rest.removeprefix("/") if rest.startswith("/./") else rest, **options)


def _open_bigquery(rest: str, credentials_file: str | None, **options: Any) -> Warehouse:
    from job_run_aggregator.warehouse.bigquery import BigQueryWarehouse

    project, _, dataset = rest.partition("/")
    return BigQueryWarehouse(
        project or "openshift-ci-data-analysis", dataset or "ci_data", credentials_file=credentials_file, **options
    )


_OPENERS = {"duckdb": _open_duckdb, "bigquery": _open_bigquery}
