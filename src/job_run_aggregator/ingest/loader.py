"""Committing rows: each submitted batch goes to the warehouse together with its marker (job-run) rows.

One loader class per mode: `WarehouseLoader` commits on a writer thread while the caller reads on; `DryRunLoader`
commits nothing and hands every row to a callback. Counts reach the summary only once their rows are committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from job_run_aggregator.artifacts.runs import MARKER_TABLE
from job_run_aggregator.model import RunSummary
from job_run_aggregator.warehouse.base import Warehouse

Rows = dict[str, list[dict[str, Any]]]
Emit = Callable[[str, dict[str, Any]], None]


class Loader(Protocol):
    """Where an uploader's rows go."""

    def submit(self, batch: Rows, counts: RunSummary) -> None:
        """Commit `batch` (rows per table) atomically with its marker rows; add `counts` once committed."""
        ...

    def then(self, callback: Callable[[], None]) -> None:
        """Run `callback` once everything submitted so far is committed (now, when nothing is in flight)."""
        ...

    def wait(self) -> None:
        """Wait until everything submitted is committed; a commit's error is raised here."""
        ...

    def close(self) -> None: ...


def markers_last(batch: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, Sequence[dict[str, Any]]]:
    """The batch with the marker tables last (see rows_for_run); dict order is insertion order."""
    markers = set(MARKER_TABLE.values())
    return {t: r for t, r in batch.items() if t not in markers} | {t: r for t, r in batch.items() if t in markers}


def add_counts(summary: RunSummary, counts: RunSummary) -> None:
    summary.loaded += counts.loaded
    summary.unfinished += counts.unfinished
    summary.failed += counts.failed
    summary.problems.extend(counts.problems)
    for table, n in counts.rows.items():
        summary.rows[table] = summary.rows.get(table, 0) + n


class WarehouseLoader:
    """Commits each batch on a writer thread, one commit in flight, while the next batch is read.

    DuckDB and the BigQuery client release the GIL, so reading and parsing proceed during a commit. A batch's
    counts reach the summary, and callbacks registered after it run, only once it is committed.
    """

    def __init__(self, warehouse: Warehouse, summary: RunSummary) -> None:
        self.warehouse, self.summary = warehouse, summary
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jra-load")
        self.committing: Future[dict[str, int]] | None = None
        self.counts: RunSummary | None = None
        self.callbacks: list[Callable[[], None]] = []

    def submit(self, batch: Rows, counts: RunSummary) -> None:
        self.wait()
        self.committing, self.counts = self.writer.submit(self.warehouse.load, markers_last(batch)), counts

    def then(self, callback: Callable[[], None]) -> None:
        if self.committing is None:
            callback()
        else:
            self.callbacks.append(callback)

    def wait(self) -> None:
        if self.committing is None or self.counts is None:
            return
        done, counts, self.committing, self.counts = self.committing, self.counts, None, None
        for table, n in done.result().items():
            counts.rows[table] = counts.rows.get(table, 0) + n
        add_counts(self.summary, counts)
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()

    def close(self) -> None:
        self.writer.shutdown(wait=True)


class DryRunLoader:
    """Loads nothing: every row goes to `emit(table, row)`, marker tables last, and counts as would-be loaded."""

    def __init__(self, summary: RunSummary, emit: Emit | None) -> None:
        self.summary, self.emit = summary, emit

    def submit(self, batch: Rows, counts: RunSummary) -> None:
        for table, rows in markers_last(batch).items():
            if self.emit is not None:
                for row in rows:
                    self.emit(table, row)
            counts.rows[table] = counts.rows.get(table, 0) + len(rows)
        add_counts(self.summary, counts)

    def then(self, callback: Callable[[], None]) -> None:
        callback()

    def wait(self) -> None:
        pass

    def close(self) -> None:
        pass
