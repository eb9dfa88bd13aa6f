"""The dashboard's read side of a DuckDB warehouse: private copies of the file, never the file itself.

DuckDB lets one process write a file and no other process open it meanwhile, even read-only. A dashboard that
opened the warehouse per request therefore made pages wait (then fail with 503) while a writer loaded, and made
writers wait or fail while pages were being served. Instead `SnapshotStore`:

- copies the warehouse file (and its `.wal`, if a writer crashed and left one) into a private folder, holding a
  read-only connection to the original only for the copy (a fraction of a second per 100 MB): the shared lock
  that connection takes guarantees no writer is half-way through a write while the bytes are read;
- checks every `refresh_every` seconds, from a background thread, whether the file changed (size, mtime, inode
  of the file and of its WAL); only then does it open the original again. While a writer holds the file the
  attempt fails at once and the pages go on showing the last good copy, stamped with its time;
- answers every request from the current copy through its own connection (a cursor of one read-only connection
  per copy), so requests never wait on a writer and never hold the original open;
- deletes a replaced copy when its last request has finished.

A writer that starts during a copy finds the file locked for that fraction of a second; DuckDBWarehouse retries
opening for `open_timeout` (30 s), so it waits and then succeeds. BigQuery needs none of this: `serve` uses the
warehouse directly there.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from job_run_aggregator.errors import JraError, LockBusy, TableMissing
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

log = logging.getLogger(__name__)
Fingerprint = tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def fingerprint(path: Path) -> Fingerprint:
    """What changes when a writer commits: the file's and its WAL's mtime, size and inode."""
    return _stat(path), _stat(Path(f"{path}.wal"))


@dataclass(eq=False)
class Snapshot:
    """One private copy: its file, one read-only connection that request cursors share, and a use count."""

    path: Path
    fingerprint: Fingerprint
    taken_at: datetime
    modified_at: datetime
    connection: duckdb.DuckDBPyConnection
    users: int = 0
    retired: bool = False

    def discard(self) -> None:
        self.connection.close()
        for p in (self.path, Path(f"{self.path}.wal")):
            p.unlink(missing_ok=True)


@dataclass
class DataStatus:
    """What the pages say about their data: when it was last changed and copied, and whether a writer is busy."""

    as_of: datetime | None = None
    checked_at: datetime | None = None
    writer_busy_since: datetime | None = None
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat(timespec="seconds")

        return {"as_of": iso(self.as_of), "checked_at": iso(self.checked_at),
                "writer_busy_since": iso(self.writer_busy_since), "problem": self.problem}


class SnapshotReader(DuckDBWarehouse):
    """A read-only warehouse over a snapshot: its connection is a cursor of the snapshot's shared connection."""

    def __init__(self, store: SnapshotStore, snapshot: Snapshot) -> None:
        super().__init__(snapshot.path, read_only=True)
        self._store = store
        self._snapshot: Snapshot | None = snapshot

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self._snapshot is None:
            raise JraError("snapshot reader used after close")
        con = self._snapshot.connection.cursor()
        con.execute("SET TimeZone='UTC'")
        return con

    def close(self) -> None:
        super().close()
        if self._snapshot is not None:
            self._store.release(self._snapshot)
            self._snapshot = None


@dataclass
class SnapshotStore:
    """Keeps a current private copy of a DuckDB warehouse file and hands out readers over it."""

    source: Path
    directory: Path | None = None
    refresh_every: float = 2.0
    status: DataStatus = field(default_factory=DataStatus)
    # Called from the refresher thread after a new copy is in use (the dashboard recomputes recent pages).
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.source = Path(self.source)
        self._own_directory = self.directory is None
        self.directory = Path(self.directory or tempfile.mkdtemp(prefix="jra-serve-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._current: Snapshot | None = None
        self._lock = threading.Lock()  # guards _current, use counts and status
        self._refreshing = threading.Lock()  # one copy at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial = 0

    # ---- readers ------------------------------------------------------------------------------------------

    def open(self) -> SnapshotReader:
        """A reader over the current copy; raises TableMissing until a first copy exists."""
        if self._current is None and self._thread is None:
            self.refresh()  # no background thread (tests, first request): copy now
        with self._lock:
            snapshot = self._current
            if snapshot is None and self.status.writer_busy_since is not None:
                # No earlier copy to show: say "busy, retry" (503) rather than "no tables".
                raise LockBusy("a writer holds the warehouse and no earlier copy exists yet")
            if snapshot is None:
                raise TableMissing("no warehouse file yet; run create-tables first" if not self.status.problem
                                   else self.status.problem)
            snapshot.users += 1
        return SnapshotReader(self, snapshot)

    def release(self, snapshot: Snapshot) -> None:
        with self._lock:
            snapshot.users -= 1
            done = snapshot.retired and snapshot.users == 0
        if done:
            snapshot.discard()

    @property
    def version(self) -> int | None:
        """A number that changes whenever the copy in use does (None before the first copy)."""
        current = self._current
        return None if current is None else id(current)

    def data_status(self) -> DataStatus:
        with self._lock:
            return DataStatus(self.status.as_of, self.status.checked_at, self.status.writer_busy_since,
                              self.status.problem)

    # ---- refreshing ---------------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Copy the warehouse if it changed and no writer holds it; return whether a new copy is in use."""
        with self._refreshing:
            now = datetime.now(UTC)
            seen = fingerprint(self.source)
            current = self._current
            if current is not None and seen == current.fingerprint:
                self._set(checked_at=now, writer_busy_since=None, problem="")
                return False
            if seen[0] is None:
                self._set(checked_at=now, problem="no warehouse file yet; run create-tables first")
                return False
            try:
                snapshot = self._copy()
            except _WriterBusy:
                with self._lock:
                    self.status.checked_at = now
                    self.status.writer_busy_since = self.status.writer_busy_since or now
                return False
            except (duckdb.Error, OSError) as exc:
                # Logged in full for the operator; the pages get a message without paths.
                log.warning("cannot copy the warehouse %s: %s", self.source, exc)
                self._set(checked_at=now, problem=f"the warehouse file cannot be read ({type(exc).__name__})")
                return False
            with self._lock:
                old, self._current = self._current, snapshot
                self.status = DataStatus(snapshot.modified_at, now, None, "")
                if old is not None:
                    old.retired = True
                    drop = old.users == 0
                else:
                    drop = False
            if old is not None and drop:
                old.discard()
            return True

    def _set(self, **values: Any) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self.status, name, value)

    def _copy(self) -> Snapshot:
        self._serial += 1
        assert self.directory is not None
        target = self.directory / f"snapshot-{self._serial}.duckdb"
        try:
            source = duckdb.connect(str(self.source), read_only=True)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise _WriterBusy from None
            raise
        try:
            # Under the read-only connection's shared lock no writer can be mid-write: the bytes are a commit.
            seen = fingerprint(self.source)
            shutil.copyfile(self.source, target)
            wal = Path(f"{self.source}.wal")
            if wal.exists():
                shutil.copyfile(wal, f"{target}.wal")
        finally:
            source.close()
        # Fold a copied WAL into the copy, so readers need no write access.
        writable = duckdb.connect(str(target))
        try:
            writable.execute("CHECKPOINT")
        finally:
            writable.close()
        connection = duckdb.connect(str(target), read_only=True)
        modified = datetime.fromtimestamp(max(s[0] for s in seen if s) / 1e9, UTC)
        return Snapshot(target, seen, datetime.now(UTC), modified, connection)

    def start(self) -> None:
        """Refresh from a background thread every `refresh_every` seconds (after a first copy now)."""
        if self._thread is not None:
            return
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="jra-snapshots", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_every):
            try:
                if self.refresh():
                    for listener in self.listeners:
                        listener()
            except Exception:  # never let the refresher die: the pages would silently go stale
                log.exception("snapshot refresh failed")

    def stop(self) -> None:
        """Stop refreshing and delete every copy (those still in use go when their request ends)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            current, self._current = self._current, None
            if current is not None:
                current.retired = True
                drop = current.users == 0
            else:
                drop = False
        if current is not None and drop:
            current.discard()
        if self._own_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


class _WriterBusy(Exception):
    """The warehouse file is held by a writer right now."""


def data_age_note(status: DataStatus) -> str:
    """One line for every page: when the shown data was last changed, and whether newer data is loading."""
    if status.as_of is None:
        return ""
    text = f"Data as of {status.as_of:%Y-%m-%d %H:%M:%S} UTC"
    if status.writer_busy_since is not None:
        text += (f"; a writer has been loading new data since {status.writer_busy_since:%H:%M:%S} UTC, "
                 "shown once it finishes")
    return text + "."


__all__ = ["DataStatus", "Snapshot", "SnapshotReader", "SnapshotStore", "data_age_note", "fingerprint"]
