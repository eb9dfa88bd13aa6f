"""The query_results.json formats origin has embedded, by name, and telling which one a file is in.

A format is the exact column list of a row, in order; everything else about the file (Go's indented JSON, the
percentile strings, the sort order) is the same in every era and lives in `results_file`.

| name | rows hold | where it comes from |
|---|---|---|
| v1 | BackendName, the six variant columns, JobRuns, P95, P99 | origin 2022 (`backend_query_results_2022-12.json`) |
| v2 | v1 + MasterNodesUpdated after Topology | the `--split-master-nodes-updated` export |
| v3 | v2 + P75, P50 after P99 | origin 2025 (`backend_query_results_2025-current.json`) |
| a1 | AlertName, the six variant columns, JobRuns, P95, P99 | origin 2022 (`alerts_query_results_2022-12.json`) |
| a2 | a1 + MasterNodesUpdated after Topology | the `--split-master-nodes-updated` alert export |
| a3 | a1 + AlertNamespace, AlertLevel after AlertName | origin since 2023-02 |
| a4 | a3 + FirstObserved, LastObserved after AlertLevel, MasterNodesUpdated, P75, P50 | origin since 2023-08 |

The file names in parentheses are the reference copies of that era's output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.history.results_file import ALERT_SCOPE_COLUMNS, MASTER_NODES_UPDATED, OBSERVED_COLUMNS
from job_run_aggregator.model import VARIANT_COLUMNS

DISRUPTIONS, ALERTS = "disruptions", "alerts"
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class FileFormat:
    """One era's row layout: the data it holds and its columns in file order."""

    name: str
    data_type: str  # DISRUPTIONS | ALERTS
    columns: tuple[str, ...]

    @property
    def percentiles(self) -> tuple[int, ...]:
        """The percentile columns as integers, in file order (95, 99 first)."""
        return tuple(int(c[1:]) for c in self.columns if c[:1] == "P" and c[1:].isdigit())

    @property
    def has_master_nodes_updated(self) -> bool:
        return MASTER_NODES_UPDATED in self.columns

    @property
    def has_alert_scope(self) -> bool:
        """Rows are keyed by alert name, namespace and level (a3, a4)."""
        return ALERT_SCOPE_COLUMNS[0] in self.columns

    @property
    def has_observed(self) -> bool:
        """Rows carry FirstObserved/LastObserved (a4)."""
        return OBSERVED_COLUMNS[0] in self.columns


def _format(name: str, data_type: str, *columns: str) -> FileFormat:
    return FileFormat(name, data_type, columns)


_MNU = (MASTER_NODES_UPDATED,)
_P = ("JobRuns", "P95", "P99")
FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        _format("v1", DISRUPTIONS, "BackendName", *VARIANT_COLUMNS, *_P),
        _format("v2", DISRUPTIONS, "BackendName", *VARIANT_COLUMNS, *_MNU, *_P),
        _format("v3", DISRUPTIONS, "BackendName", *VARIANT_COLUMNS, *_MNU, *_P, "P75", "P50"),
        _format("a1", ALERTS, "AlertName", *VARIANT_COLUMNS, *_P),
        _format("a2", ALERTS, "AlertName", *VARIANT_COLUMNS, *_MNU, *_P),
        _format("a3", ALERTS, "AlertName", *ALERT_SCOPE_COLUMNS, *VARIANT_COLUMNS, *_P),
        _format("a4", ALERTS, "AlertName", *ALERT_SCOPE_COLUMNS, *OBSERVED_COLUMNS, *VARIANT_COLUMNS, *_MNU, *_P,
                "P75", "P50"),
    )
}
FORMAT_NAMES: tuple[str, ...] = (*FORMATS, AUTO)


def format_named(name: str) -> FileFormat:
    """Return the format called `name` (v1…v3, a1…a4).

    Raises:
        ConfigError: unknown name.
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(f"--format {name!r}: choose one of {', '.join(FORMAT_NAMES)}") from None


def format_of_rows(rows: Sequence[Mapping[str, object]], path: str) -> FileFormat:
    """Tell which format a file's rows are in from their columns (every row must have the same ones).

    Raises:
        InputError: no rows (nothing to tell the format by), rows with different columns, or columns of no format.
    """
    if not rows:
        raise InputError("holds no rows, so its format cannot be told; pass --format", path)
    columns = tuple(rows[0])
    for index, row in enumerate(rows):
        if tuple(row) != columns:
            raise InputError(f"row {index} has the columns {', '.join(row)}, row 0 has {', '.join(columns)}", path)
    for candidate in FORMATS.values():
        if candidate.columns == columns:
            return candidate
    raise InputError(f"columns {', '.join(columns)} are none of the formats {', '.join(FORMATS)}", path)


def check_data_type(file_format: FileFormat, data_type: str) -> None:
    """Raise ConfigError when a format holds the other kind of data than `data_type`."""
    if file_format.data_type != data_type:
        raise ConfigError(
            f"--format {file_format.name} holds {file_format.data_type}, not {data_type}; "
            f"pass --data-type {file_format.data_type} or a format of {data_type}"
        )


def shape_row(row: Mapping[str, object], file_format: FileFormat) -> dict[str, object]:
    """Keep exactly the format's columns of a row, in its order.

    Raises:
        InputError: the row lacks one of the format's columns.
    """
    missing = [c for c in file_format.columns if c not in row]
    if missing:
        raise InputError(f"row has no {', '.join(missing)} for format {file_format.name}")
    return {column: row[column] for column in file_format.columns}
