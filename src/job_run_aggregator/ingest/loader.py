"""Committing rows: runs' rows go to the warehouse in batches, each batch atomic with its marker (job-run) rows.

A batch gathers the rows of many jobs' runs until it holds `BatchLimits.rows` rows or `BatchLimits.runs` runs,
then is committed as one `Warehouse.load` (on DuckDB one transaction; on BigQuery one staging load and one MERGE per
table, markers last). One loader class per mode: `WarehouseLoader` commits on a writer thread while the caller reads
on; `DryRunLoader` commits nothing and hands every row to a callback. Counts reach the summary only once their rows
are committed, and callbacks registered with `then` run only then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from job_run_aggregator.artifacts.runs import MARKER_TABLE
from job_run_aggregator.model import RunSummary
from job_run_aggregator.warehouse.base import Warehouse

Rows = dict[str, list[dict[str, Any]]]
Emit = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """When a batch is committed: at this many rows (all tables) or this many runs, whichever comes first."""

    rows: int = 50_000
    runs: int = 5_000


class Loader(Protocol):
    """Where an uploader's rows go."""

    def add(self, rows: Rows, counts: RunSummary) -> None:
        """Add the rows of some runs (rows per table, markers included) and their counts to the open batch."""
        ...

    def then(self, callback: Callable[[], None]) -> None:
        """Run `callback` once everything added so far is committed (now, when nothing is pending)."""
        ...

    def flush(self) -> None:
        """Close the open batch: hand it to the warehouse (the commit may still be in flight on return)."""
        ...

    def wait(self) -> None:
        """Wait until every flushed batch is committed; a commit's error is raised here."""
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


@dataclass(slots=True)
class _Batch:
    rows: Rows = field(default_factory=dict)
    counts: RunSummary = field(default_factory=lambda: RunSummary(rows={}))
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    size: int = 0  # rows over all tables
    runs: set[tuple[str, Any]] = field(default_factory=set)  # (marker table, run id)
    run_ids: set[Any] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.rows or self.callbacks or self.counts.problems or self.counts.loaded
                    or self.counts.unfinished or self.counts.failed)


class WarehouseLoader:
    """Commits batches on a writer thread, one commit in flight, while the next batch is read.

    DuckDB and the BigQuery client release the GIL, so reading and parsing proceed during a commit.
    """

    def __init__(self, warehouse: Warehouse, summary: RunSummary, limits: BatchLimits | None = None) -> None:
        self.warehouse, self.summary = warehouse, summary
        self.limits = limits or BatchLimits()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jra-load")
        self.open = _Batch()
        self.committing: Future[dict[str, int]] | None = None
        self.in_flight: _Batch | None = None

    def add(self, rows: Rows, counts: RunSummary) -> None:
        markers = set(MARKER_TABLE.values())
        runs = {(t, r.get("Name")) for t, table_rows in rows.items() if t in markers for r in table_rows}
        run_ids = {r for _, r in runs}
        size = sum(len(table_rows) for table_rows in rows.values())
        batch = self.open
        new_runs = len(run_ids - batch.run_ids)
        if batch.rows and (batch.size + size > self.limits.rows or len(batch.run_ids) + new_runs > self.limits.runs):
            self.flush()  # the limits bound every batch, except a single run larger than a batch
        elif runs & batch.runs:
            # The same run id twice in one batch (two jobs sharing build ids): commit the first one alone, so
            # that, as across any two commits, the first load of a run wins and the second finds it loaded.
            self.flush()
        batch = self.open
        for table, table_rows in rows.items():
            batch.rows.setdefault(table, []).extend(table_rows)
        batch.size += size
        batch.runs |= runs
        batch.run_ids |= run_ids
        add_counts(batch.counts, counts)

    def then(self, callback: Callable[[], None]) -> None:
        if self.open:
            self.open.callbacks.append(callback)
        elif self.in_flight is not None:
            self.in_flight.callbacks.append(callback)
        else:
            callback()

    def flush(self) -> None:
        batch, self.open = self.open, _Batch()
        if not batch:
            return
        self.wait()
        if batch.rows:
            self.committing = self.writer.submit(self.warehouse.load, markers_last(batch.rows))
            self.in_flight = batch
        else:  # only counts (unfinished runs) and callbacks: nothing to commit
            self._committed(batch, {})

    def wait(self) -> None:
        if self.committing is None or self.in_flight is None:
            return
        done, batch, self.committing, self.in_flight = self.committing, self.in_flight, None, None
        self._committed(batch, done.result())

    def _committed(self, batch: _Batch, inserted: dict[str, int]) -> None:
        for table, n in inserted.items():
            batch.counts.rows[table] = batch.counts.rows.get(table, 0) + n
        add_counts(self.summary, batch.counts)
        for callback in batch.callbacks:
            callback()

    def close(self) -> None:
        self.writer.shutdown(wait=True)


class DryRunLoader:
    """Loads nothing: every row goes to `emit(table, row)`, marker tables last, and counts as would-be loaded."""

    def __init__(self, summary: RunSummary, emit: Emit | None) -> None:
        self.summary, self.emit = summary, emit

    def add(self, rows: Rows, counts: RunSummary) -> None:
        for table, table_rows in markers_last(rows).items():
            if self.emit is not None:
                for row in table_rows:
                    self.emit(table, row)
            counts.rows[table] = counts.rows.get(table, 0) + len(table_rows)
        add_counts(self.summary, counts)

    def then(self, callback: Callable[[], None]) -> None:
        callback()

    def flush(self) -> None:
        pass

    def wait(self) -> None:
        pass

    def close(self) -> None:
        pass
