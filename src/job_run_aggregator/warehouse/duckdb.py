"""The embedded default warehouse: one DuckDB file, a lock file beside it for writers."""

from __future__ import annotations

import functools
import os
import re
import resource
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import duckdb

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a core dependency; the UNNEST path still works without it
    orjson = None  # type: ignore[assignment]

from job_run_aggregator.errors import ConfigError, JraError, LockBusy, TableMissing, resource_error
from job_run_aggregator.warehouse.base import Capabilities, Row, TableStats, TableStatus, WarehouseBase
from job_run_aggregator.warehouse.locking import file_lock
from job_run_aggregator.warehouse.schema import Table
from job_run_aggregator.warehouse.sql import transpile

# Engine differences are data: how each schema type is spelled here, and how it reads back.
TYPE_MAP = {
    "STRING": "VARCHAR", "BOOLEAN": "BOOLEAN", "INTEGER": "BIGINT", "FLOAT": "DOUBLE", "TIMESTAMP": "TIMESTAMPTZ",
}
JSON_MIN_VALUES = 4000  # below this many values a batch is bound as lists (see _json_rows)
TYPE_BACK = {"VARCHAR": "STRING", "BOOLEAN": "BOOLEAN", "BIGINT": "INTEGER", "DOUBLE": "FLOAT",
             "TIMESTAMP WITH TIME ZONE": "TIMESTAMP"}


# Bytes 8-11 of every DuckDB database file (the main header's magic).
_MAGIC, _MAGIC_AT = b"DUCK", 8
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>[0-9]+)\)")
_MEMORY = re.compile(r"[0-9]+(\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\Z", re.IGNORECASE)
_F = TypeVar("_F", bound=Callable[..., Any])


def translate_error(exc: BaseException, path: str) -> JraError | None:
    """Map DuckDB's exceptions (and running out of memory, disk or threads) onto our tree (None: a bug)."""
    resource_problem = resource_error(exc, path)
    if resource_problem is not None:
        return resource_problem
    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc)
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, duckdb.CatalogException):
        return TableMissing(f"{path}: {first}; run create-tables first")
    if isinstance(exc, duckdb.IOException):
        holder = _LOCK_HOLDER.search(text)
        if holder:
            return LockBusy(f"{path}: locked by PID {holder['pid']} ({holder['program']}), which has the file open; "
                            "wait for it to finish or raise --lock-timeout")
        if "not a valid DuckDB database file" in text:
            return ConfigError(f"{path}: not a DuckDB file; point --warehouse at a DuckDB file or a new path")
        if "Is a directory" in text:
            return ConfigError(f"{path}: is a directory, not a DuckDB file; point --warehouse at a file")
        if "Permission denied" in text:
            return ConfigError(f"{path}: permission denied; check the file's and its folder's permissions")
        return ConfigError(f"{path}: DuckDB cannot use the file ({first})")
    return None


def _translated(method: _F) -> _F:
    """Translate what a DuckDB call raises at this one edge; the original stays chained for --log-level debug."""

    @functools.wraps(method)
    def wrapper(self: DuckDBWarehouse, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except JraError:
            raise
        except Exception as exc:
            mapped = translate_error(exc, self.path)
            if mapped is None:
                raise
            raise mapped from exc

    return wrapper  # type: ignore[return-value]


def default_memory_limit() -> str | None:
    """Half of the process's address-space or cgroup memory limit, when one is set (else DuckDB's default).

    DuckDB sizes its buffer pool from the machine's RAM (80%); under a lower limit it would allocate past it and
    fail instead of spilling to disk.
    """
    limits = []
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    try:
        cgroup = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if cgroup.isdigit():
            limits.append(int(cgroup))
    except OSError:
        pass
    if not limits:
        return None
    return f"{max(64, min(limits) // 2 // 2**20)}MiB"


def check_memory_limit(value: str) -> str:
    """Validate a DuckDB memory size such as `2GB` or `512MiB` (it is spliced into SET, so only this shape)."""
    if not _MEMORY.match(value.strip()):
        raise ConfigError(f"memory limit {value!r} not understood; use a size such as 2GB or 512MiB")
    return value.strip()


def render_ddl(t: Table) -> str:
    """CREATE TABLE for DuckDB; an indexed natural key becomes the primary key so duplicates are impossible.

    Tables with `indexed_key=False` get no PRIMARY KEY: DuckDB keeps an ART index whole in memory and, at a
    year's volume, the indexes were 91% of the file (issue 16). Their rows stay unique through `loaded_by`.
    """
    cols = [f'"{c.name}" {TYPE_MAP[c.type]}{" NOT NULL" if c.required else ""}' for c in t.columns]
    if t.indexed_key:
        key = ", ".join(f'"{k}"' for k in t.key)
        cols.append(f"PRIMARY KEY ({key})")
    return f'CREATE TABLE "{t.name}" (\n  ' + ",\n  ".join(cols) + "\n)"


def duckdb_url(path: str | Path) -> str:
    """The `--warehouse` URL that opens `path`: `duckdb:///abs/path`, or `duckdb:///./rel/path` for a relative one."""
    text = str(path)
    if text == ":memory:" or os.path.isabs(text):
        return f"duckdb://{text}" if text != ":memory:" else "duckdb:///:memory:"
    return f"duckdb:///./{text.removeprefix('./')}"


class DuckDBWarehouse(WarehouseBase):
    """DuckDB file warehouse. Connects lazily so that a waiting writer takes the lock before the file."""

    dialect = "duckdb"
    capabilities = Capabilities(percentile_aggregate=True)

    def __init__(self, path: str | Path, read_only: bool = False, open_timeout: float = 30.0,
                 memory_limit: str | None = None) -> None:
        super().__init__()
        self.path = str(path)
        self.url = duckdb_url(self.path)
        self.read_only = read_only
        self.open_timeout = open_timeout
        self.memory_limit = check_memory_limit(memory_limit) if memory_limit else default_memory_limit()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._keyed: dict[str, bool] = {}  # table -> has a PRIMARY KEY in this file (files of earlier versions do)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._connect()
        return self._con

    @_translated
    def _connect(self) -> duckdb.DuckDBPyConnection:
        self._check_file()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.open_timeout
        delay = 0.1
        while True:
            try:
                if self.read_only and not Path(self.path).exists():
                    raise TableMissing(f"{self.path}: no warehouse file yet; run create-tables first")
                con = duckdb.connect(self.path, read_only=self.read_only)
                break
            except duckdb.IOException as exc:
                # Another process has the file open for writing; DuckDB allows one writer process.
                mapped = translate_error(exc, self.path)
                if not isinstance(mapped, LockBusy) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        # Not in connect(config=…): that form tries to load ICU over the network and fails offline.
        con.execute("SET TimeZone='UTC'")
        if self.memory_limit:
            con.execute(f"SET memory_limit='{self.memory_limit}'")  # checked by check_memory_limit
        return con

    def _check_file(self) -> None:
        """Refuse a path that is a folder or a file of another kind before DuckDB (or a .lock file) touches it."""
        if self.path == ":memory:":
            return
        if os.path.isdir(self.path):
            raise ConfigError(f"{self.path}: is a directory, not a DuckDB file; point --warehouse at a file")
        try:
            with open(self.path, "rb") as f:
                header = f.read(_MAGIC_AT + len(_MAGIC))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read the warehouse file ({exc.strerror})") from None
        if header and header[_MAGIC_AT:] != _MAGIC:
            raise ConfigError(f"{self.path}: not a DuckDB file; point --warehouse at a DuckDB file or a new path")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        self._present.clear()
        self._keyed.clear()

    def lock(self, owner: str, timeout: float = 0.0) -> AbstractContextManager[None]:
        # Checked first: a wrong --warehouse must not leave a .lock file beside a folder or a stranger's file.
        self._check_file()
        return file_lock(Path(self.path + ".lock"), owner, timeout)

    def _columns(self, name: str) -> list[tuple[str, str, bool]] | None:
        rows = self.con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position",
            [name],
        ).fetchall()
        if not rows:
            return None
        return [(n, TYPE_BACK.get(t, t), nullable == "NO") for n, t, nullable in rows]

    def _create_table(self, t: Table, dry_run: bool) -> str:
        ddl = render_ddl(t)
        if not dry_run:
            self.con.execute(ddl)
        return ddl

    @_translated
    def create_tables(self, dry_run: bool = False) -> list[TableStatus]:
        return super().create_tables(dry_run)

    @_translated
    def stats(self) -> list[TableStats]:
        return super().stats()

    def _insert_sql(self, t: Table, verb: str, only: str = "") -> str:
        cols = ", ".join(f'"{c.name}"' for c in t.columns)
        # Rows travel as one list per column: DuckDB's executemany is ~1000x slower than UNNEST of lists.
        values = ", ".join(
            f'CAST(UNNEST(${i}) AS {TYPE_MAP[c.type]}) AS "{c.name}"' for i, c in enumerate(t.columns, 1))
        where = _filter(t, only, len(t.columns) + 1)
        return f'{verb} INTO "{t.name}" ({cols}) SELECT {cols} FROM (SELECT {values}) AS s{where}'

    def _insert_json_sql(self, t: Table, verb: str, only: str = "") -> str:
        cols = ", ".join(f'"{c.name}"' for c in t.columns)
        spec = ", ".join(f"'{c.name}': '{TYPE_MAP[c.type]}'" for c in t.columns)
        where = _filter(t, only, 2)
        return (f'{verb} INTO "{t.name}" ({cols}) SELECT {cols} '
                f"FROM read_json($1, columns={{{spec}}}, format='array') AS s{where}")

    def _insert(self, t: Table, rows: Sequence[Row], verb: str, loading: Sequence[Any] | None = None) -> int:
        """Insert rows; return how many DuckDB wrote (rows ignored on a key collision are not counted).

        `loading`: the runs this batch marks loaded (its `t.loaded_by` rows); rows of those runs are inserted only
        while their marker row is not there yet (the anti-join reads only those runs' marker rows, whichever job
        they belong to: build ids are unique). Rows of other runs, such as the zeros injected into runs loaded
        earlier when a new alert appears, are inserted only where their natural key is absent, as BigQuery's MERGE
        does (the table has no key index to refuse a second row; that anti-join reads the table, but only for
        the rare batches that hold such rows).
        """
        if loading is None:
            return self._insert_only(t, rows, verb, "", [])
        marked = set(loading)
        new = [r for r in rows if r.get("JobRunName") in marked]
        others = [r for r in rows if r.get("JobRunName") not in marked]
        return (self._insert_only(t, new, verb, "new runs", [sorted(marked, key=str)])
                + self._insert_only(t, others, verb, "absent keys", []))

    def _insert_only(self, t: Table, rows: Sequence[Row], verb: str, only: str, extra: list[Any]) -> int:
        """Insert the rows that pass the filter `only` ("", "new runs", "absent keys"; see `_filter`)."""
        if not rows:
            return 0
        data = _json_rows(t, rows)
        if data is not None:
            # Python lists bound as parameters cost ~1 µs per value to convert; orjson bytes read by DuckDB's
            # JSON reader are ~3x faster per row and leave the GIL free while DuckDB parses (benchmarks/).
            handle, name = tempfile.mkstemp(prefix="jra-load-", suffix=".json")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                return _count(self.con.execute(self._insert_json_sql(t, verb, only), [name, *extra]))
            finally:
                os.unlink(name)
        columns = [[r.get(c.name) for r in rows] for c in t.columns]
        return _count(self.con.execute(self._insert_sql(t, verb, only), [*columns, *extra]))

    @_translated
    def load(self, batch: Mapping[str, Sequence[Row]]) -> dict[str, int]:
        from job_run_aggregator.warehouse.schema import table

        self._check_tables(batch)
        inserted: dict[str, int] = {}
        self.con.execute("BEGIN TRANSACTION")
        try:
            # Data tables before marker tables, whatever the caller's order: the anti-join must not see the
            # markers of this very batch.
            for name, rows in sorted(batch.items(), key=lambda item: table(item[0]).loaded_by is None):
                t = table(name)
                if t.loaded_by is not None:
                    # Exactly once without a key index: the run's marker row, committed in this same transaction
                    # (markers come last in the batch), keeps any later load from inserting the run again.
                    verb = "INSERT OR IGNORE" if self._keyed[name] else "INSERT"
                    loading = {r.get("Name") for r in batch.get(t.loaded_by, ())}
                    inserted[name] = self._insert(t, _dedupe(t, rows), verb, loading=sorted(loading, key=str))
                else:
                    inserted[name] = self._insert(t, _dedupe(t, rows), "INSERT OR IGNORE")
            self.con.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return inserted

    @_translated
    def replace(self, table_name: str, rows: Sequence[Row]) -> int:
        from job_run_aggregator.warehouse.schema import table

        if not table(table_name).indexed_key:
            raise ValueError(f"table {table_name} has no key index to replace rows by")
        self._check_tables({table_name: rows})
        self.con.execute("BEGIN TRANSACTION")
        try:
            n = self._insert(table(table_name), _dedupe(table(table_name), rows), "INSERT OR REPLACE")
            self.con.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return n or len(rows)

    def _table_found(self, name: str) -> None:
        self._keyed[name] = self._has_primary_key(name)

    def _has_primary_key(self, name: str) -> bool:
        # Files created before issue 16 have PRIMARY KEYs on every table; they keep working (INSERT OR IGNORE
        # there), and create-tables compares columns only, so it does not report them as drift.
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? AND schema_name = 'main' "
            "AND constraint_type = 'PRIMARY KEY'", [name]).fetchone()
        return bool(row and row[0])

    def _rollback(self) -> None:
        # A failed COMMIT (disk full) has already ended the transaction: ROLLBACK would then raise and hide why.
        try:
            self.con.execute("ROLLBACK")
        except duckdb.TransactionException:
            pass

    @_translated
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        cur = self.con.execute(transpile(sql, self.dialect), dict(params or {}))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    """The row count an INSERT reports."""
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _filter(t: Table, only: str, runs_param: int) -> str:
    """The WHERE clause of an insert: none, new runs only (`_new_runs_filter`) or rows whose key is absent."""
    if only == "new runs":
        return _new_runs_filter(t, runs_param)
    if only == "absent keys":
        same = " AND ".join(f'd."{k}" = s."{k}"' for k in t.key)
        return f' WHERE NOT EXISTS (SELECT 1 FROM "{t.name}" AS d WHERE {same})'
    return ""


def _new_runs_filter(t: Table, runs_param: int) -> str:
    """WHERE clause keeping rows of runs not yet marked loaded in `t.loaded_by` (parameter: the batch's run ids)."""
    return (f' WHERE NOT EXISTS (SELECT 1 FROM "{t.loaded_by}" AS m WHERE m."Name" = s."JobRunName" '
            f'AND m."Name" IN (SELECT UNNEST(${runs_param}::VARCHAR[])))')


def _dedupe(t: Table, rows: Sequence[Row]) -> list[Row]:
    """Keep the last row per natural key: a batch must not collide with itself."""
    try:
        key = itemgetter(*t.key)
        seen: dict[Any, Row] = {key(r): r for r in rows}
    except KeyError:  # a row without some key column: the key reads as None, as in the load
        seen = {tuple(r.get(k) for k in t.key): r for r in rows}
    if len(seen) == len(rows):
        return list(rows)
    return list(seen.values())


def _json_rows(t: Table, rows: Sequence[Row]) -> bytes | None:
    """The rows as a JSON array for read_json, or None when JSON cannot carry them exactly."""
    # JSON has no NaN or infinity (orjson writes null), so tables with FLOAT columns take the UNNEST path.
    if orjson is None or any(c.type == "FLOAT" for c in t.columns):
        return None
    # read_json costs a few milliseconds per statement before its first row: small batches bind lists instead.
    if len(rows) * len(t.columns) < JSON_MIN_VALUES:
        return None
    try:
        return orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC)
    except TypeError:  # a value orjson does not encode (a lone surrogate, an int beyond 64 bits, …)
        return None


def _one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    # An aggregate or INSERT … RETURNING count always yields one row; None here would be a DuckDB bug.
    if row is None:
        raise RuntimeError("DuckDB returned no row for a statement that always returns one")
    return row


def _first(row: tuple[Any, ...] | None) -> Any:
    return _one(row)[0]
