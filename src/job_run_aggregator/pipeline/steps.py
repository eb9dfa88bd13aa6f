"""The pipeline's steps as library functions: create-tables, prime-job-table, upload, export.

The CLI commands and the scheduler (schedule.py) both call these, so each step's rules live in one place: what
counts as schema drift, how the job-name list is read, the upload's summary line and when it failed, how an
export is written (atomically: never half a file), and that a dry run takes no writers' lock. The steps never take
the lock themselves: a command holds it around its one step, the scheduler around its whole cycle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from job_run_aggregator.errors import ConfigError, InputError, SchemaDrift
from job_run_aggregator.history.percentiles import HistoryQuery, export_historical_data
from job_run_aggregator.jobs.names import generate_job_names
from job_run_aggregator.jobs.variants import DEFAULT_RELEASES
from job_run_aggregator.model import Problem, Release, RunSummary
from job_run_aggregator.warehouse.base import TableStatus, Warehouse


def writer_lock(warehouse: Warehouse, owner: str, timeout: float, dry_run: bool) -> AbstractContextManager[None]:
    """The writers' lock for `owner`, or nothing for a dry run (it writes nothing, so it never waits)."""
    return nullcontext() if dry_run else warehouse.lock(owner, timeout)


# ---- create-tables --------------------------------------------------------------------------------------------


def create_tables(warehouse: Warehouse, dry_run: bool = False) -> list[TableStatus]:
    """Create the dataset and every missing table; existing ones are compared with the definition, never altered."""
    return warehouse.create_tables(dry_run=dry_run)


def drift_error(statuses: Sequence[TableStatus]) -> SchemaDrift | None:
    """The error to end create-tables with when a table differs from its definition (None: no drift)."""
    drift = [t for t in statuses if t.outcome == "drift"]
    if not drift:
        return None
    return SchemaDrift(
        f"{len(drift)} table(s) differ from the definition; nothing was dropped or altered: "
        + " | ".join(f"{t.table}: {t.detail}" for t in drift)
    )


# ---- prime-job-table ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobNames:
    """A job-name list (DESIGN §5 format), where it came from, and the source files that could not be read."""

    text: str
    source: str
    problems: tuple[Problem, ...] = field(default=())


def read_job_names_file(path: Path) -> JobNames:
    """Read a job-name file (from generate-job-names).

    Raises:
        ConfigError: the file cannot be read or is not UTF-8.
    """
    try:
        return JobNames(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read job-name file ({exc})") from None


def job_names_from(
    job_names_file: Path | None, release_repo: Path | None, releases: Sequence[str] = DEFAULT_RELEASES
) -> JobNames | None:
    """The job-name list from a file or generated from an openshift/release checkout; None when neither is set."""
    if job_names_file is not None:
        return read_job_names_file(job_names_file)
    if release_repo is not None:
        names = generate_job_names(release_repo, releases)
        return JobNames(names.text, str(release_repo), tuple(names.problems))
    return None


# ---- upload ---------------------------------------------------------------------------------------------------


def describe_upload(summary: RunSummary, dry_run: bool = False) -> str:
    """The upload's one summary line (after `<command>: `): jobs, runs, rows per table, problems."""
    rows = ", ".join(f"{t} {n}" for t, n in sorted(summary.rows.items())) or "none"
    verb = "would load" if dry_run else "loaded"
    return (f"jobs {summary.jobs}, runs seen {summary.seen}, {verb} {summary.loaded}, already loaded "
            f"{summary.skipped}, unfinished {summary.unfinished}, failed {summary.failed}; rows {verb}: {rows}; "
            f"problems {len(summary.problems)}"
            + (f"; BigQuery jobs {summary.bigquery_jobs}" if summary.bigquery_jobs is not None else ""))


def upload_error(summary: RunSummary) -> InputError | None:
    """The error an upload ends with when runs failed to load (they are retried by the next upload)."""
    if not summary.failed:
        return None
    return InputError(f"{summary.failed} run(s) failed to load; see the problems above (they are retried next time)")


# ---- export ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Export:
    """A rendered query_results.json: its bytes, its row count and the release it is for."""

    data: bytes
    rows: int
    release: str


def newest_release(warehouse: Warehouse) -> str:
    """The highest release in Jobs (what the exports default to)."""
    releases = [r["Release"] for r in warehouse.query("SELECT DISTINCT Release FROM Jobs")]
    known = [(parsed, r) for r in releases if r and (parsed := Release.parse(r))]
    if not known:
        raise ConfigError("no release to export: Jobs has no rows with a release; prime it or give --release")
    return max(known)[1]  # the text as stored: the export selects rows by it


def export(warehouse: Warehouse, query: HistoryQuery, release: str | None = None) -> Export:
    """Compute one query_results.json for `release` (default: the newest release in Jobs)."""
    release = release or newest_release(warehouse)
    data, rows = export_historical_data(warehouse, query, release)
    return Export(data, rows, release)


def write_atomically(path: Path, data: bytes, make_parents: bool = False) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never a part of it.

    The bytes go to a temporary file beside the target, then `os.replace` (atomic within a file system) swaps it
    in; on failure the temporary file is removed and the old file is untouched. The temporary name holds the
    process id, so two writers never share one; the file gets the usual permissions (umask), like a plain write.

    Raises:
        ConfigError: the folder or file cannot be written.
    """
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    except OSError as exc:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass  # the folder itself is unwritable: there is no partial file to remove
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
