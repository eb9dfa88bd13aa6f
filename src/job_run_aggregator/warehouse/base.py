"""The warehouse seam: a small Protocol, the URL → backend map, and what create-tables reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from job_run_aggregator.errors import ConfigError, TableMissing
from job_run_aggregator.warehouse.schema import TABLES, Table, diff_columns

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


class WarehouseBase:
    """The loops every engine shares: create-tables with drift detection, the tables-exist check, status.

    An engine supplies `_columns` (a table's columns read back as (name, schema type, required), None when the
    table is missing), `_create_table` and `query`; `_prepare` and `_table_found` are optional hooks.
    """

    url: str

    def __init__(self) -> None:
        self._present: set[str] = set()  # tables seen to exist (checked once: the catalog costs a round trip)

    def _columns(self, name: str) -> list[tuple[str, str, bool]] | None:
        raise NotImplementedError

    def _create_table(self, t: Table, dry_run: bool) -> str:
        """Create `t` (not when `dry_run`); return what was (or would be) created, for the report."""
        raise NotImplementedError

    def _prepare(self, dry_run: bool) -> None:
        """Create what holds the tables (BigQuery: the dataset)."""

    def _table_found(self, name: str) -> None:
        """Called once per table found by `_check_tables` (DuckDB reads the table's key indexes here)."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        raise NotImplementedError

    def create_tables(self, dry_run: bool = False) -> list[TableStatus]:
        self._prepare(dry_run)
        out = []
        for t in TABLES:
            actual = self._columns(t.name)
            if actual is None:
                detail = self._create_table(t, dry_run)
                out.append(TableStatus(t.name, "would create" if dry_run else "created", detail))
                continue
            # Columns only: keys are engine business (files created with PRIMARY KEYs on the data tables by
            # earlier versions are not drift, see warehouse/duckdb.py).
            diff = diff_columns(t, actual)
            out.append(TableStatus(t.name, "drift", str(diff)) if diff else TableStatus(t.name, "exists"))
        return out

    def _check_tables(self, names: Iterable[str]) -> None:
        for name in names:
            if name in self._present:
                continue
            if self._columns(name) is None:
                raise TableMissing(f"table {name} does not exist in {self.url}; run create-tables first")
            self._table_found(name)
            self._present.add(name)

    def stats(self) -> list[TableStats]:
        out = []
        for t in TABLES:
            if self._columns(t.name) is None:
                out.append(TableStats(t.name, None))
                continue
            newest = f"MAX(`{t.time_column}`)" if t.time_column else "NULL"
            row = self.query(f"SELECT COUNT(*) AS n, {newest} AS newest FROM `{t.name}`")[0]
            out.append(TableStats(t.name, int(row["n"]), row["newest"]))
        return out


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
