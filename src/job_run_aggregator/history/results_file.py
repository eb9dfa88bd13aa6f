"""origin's `query_results.json`: read it, and write it byte for byte as origin embeds it (DESIGN §7).

The file is a JSON array rendered like Go's `json.MarshalIndent(rows, "", "  ")` with no trailing newline.
Each row holds BackendName|AlertName, Release, FromRelease, Platform, Architecture, Network, Topology,
JobRuns (an integer) and the percentiles as strings; the newer format adds MasterNodesUpdated after Topology
and P75, P50 after P99. Rows are sorted by `sort_key`.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import VARIANT_COLUMNS

NAME_COLUMNS = ("BackendName", "AlertName", "Name")
MASTER_NODES_UPDATED = "MasterNodesUpdated"
# Alert rows since 2023-02 carry the alert's namespace and level (part of the key), since 2023-08 also the
# first and last start time of a run of the release in which the alert was observed (RFC 3339 UTC strings).
ALERT_SCOPE_COLUMNS = ("AlertNamespace", "AlertLevel")
OBSERVED_COLUMNS = ("FirstObserved", "LastObserved")
_REQUIRED = (*VARIANT_COLUMNS, "JobRuns", "P95", "P99")
_PERCENTILE_COLUMN = re.compile(r"P\d+(?:\.\d+)?")
# Go's encoding/json escapes these besides '"' and '\\': control characters, the HTML characters <, >, &
# and the JavaScript line separators U+2028/U+2029; lone surrogates become U+FFFD.
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')
_GO_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def format_percentile(value: float | str | None) -> str:
    """Render a percentile the way origin's files hold it; strings read from a file are kept verbatim.

    The rule reproduces every P50/P75/P95/P99 string in the reference files (28 470 values): BigQuery's
    float-to-string, which is C's `%.15g` when that round-trips and `%.17g` otherwise (so 0.77999999999999536
    stays 17 digits where Python's `repr` would give 0.7799999999999954), with ".0" added to whole numbers;
    null means no data and becomes "0.0".
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "0.0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise InputError(f"percentile {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"percentile {value!r} is not a finite number")
    if number == 0:
        return "0.0"  # also for -0.0, which %g would render as "-0"
    text = f"{number:.15g}"
    if float(text) != number:
        text = f"{number:.17g}"
    if not any(c in text for c in ".e"):
        text += ".0"
    return text


def name_column(row: Mapping[str, object]) -> str:
    """Return which of BackendName, AlertName, Name the row is keyed by."""
    for column in NAME_COLUMNS:
        if column in row:
            return column
    raise InputError(f"row has none of the name columns {', '.join(NAME_COLUMNS)}")


def sort_key(row: Mapping[str, object]) -> str:
    """Return origin's key string `Name_From_Release_Arch_Platform_Network_Topology`, the files' sort order.

    Alert rows with a namespace and level are keyed `Alert_Namespace_Level_From_Release_…` (origin since 2023-02).
    """
    name = row[name_column(row)]
    scope = [row[column] for column in ALERT_SCOPE_COLUMNS if column in row]
    return "_".join(
        str(part)
        for part in (
            name,
            *scope,
            row["FromRelease"],
            row["Release"],
            row["Architecture"],
            row["Platform"],
            row["Network"],
            row["Topology"],
        )
    )


def read_query_results(data: bytes, path: str) -> list[dict[str, object]]:
    """Parse a query_results.json file, keeping every column of every row in its original key order.

    Raises:
        InputError: the file is not JSON, not an array of rows, or a row lacks a column or has a bad value.
    """
    try:
        text = data.decode("utf-8-sig")
        parsed = json.loads(text, object_pairs_hook=_pairs_to_row)
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 ({error.reason} at byte {error.start})", path) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})", path) from None
    except _DuplicateColumn as error:
        raise InputError(f"a row has the column {error.args[0]!r} twice", path) from None
    if not isinstance(parsed, list):
        raise InputError(f"expected a JSON array of rows, found {_json_type(parsed)}", path)
    names: set[str] = set()
    for index, row in enumerate(parsed):
        try:
            check_row(row)
        except InputError as error:
            raise InputError(f"row {index}: {error.reason}", path) from None
        names.add(name_column(row))
    if len(names) > 1:
        raise InputError(f"rows mix the name columns {', '.join(sorted(names))}", path)
    return parsed


def render_query_results(rows: Sequence[Mapping[str, object]]) -> bytes:
    """Render rows as origin's query_results.json: sorted by `sort_key`, Go's indented JSON, no final newline.

    Percentile columns (P95, P99, P50, …) given as numbers or null are formatted with `format_percentile`.
    """
    for index, row in enumerate(rows):
        try:
            check_row(row)
        except InputError as error:
            raise InputError(f"row {index} ({_describe(row)}): {error.reason}") from None
    ordered = sorted(rows, key=lambda row: (sort_key(row), str(row.get(MASTER_NODES_UPDATED, ""))))
    if not ordered:
        return b"[]"
    objects = []
    for row in ordered:
        try:
            lines = [f"    {_go_string(column)}: {_render_value(column, row[column])}"
                     for column in _column_order(tuple(row))]
        except InputError as error:
            raise InputError(f"row {_describe(row)}: {error.reason}") from None
        objects.append("  {\n" + ",\n".join(lines) + "\n  }")
    return ("[\n" + ",\n".join(objects) + "\n]").encode("utf-8")


def rows_for_release(rows: Sequence[Mapping[str, object]], release: str) -> list[Mapping[str, object]]:
    """Return the rows of one release, in their order."""
    return [row for row in rows if row.get("Release") == release]


def percentile_value(value: object) -> float:
    """Return a percentile cell (a string as in the files, a number, or null) as seconds."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise InputError(f"percentile {value!r} is not a number") from None
    elif isinstance(value, numbers.Real | Decimal) and not isinstance(value, bool):
        number = float(value)
    else:
        raise InputError(f"percentile {value!r} is not a number")
    if not math.isfinite(number):
        raise InputError(f"percentile {value!r} is not a finite number")
    return number


@lru_cache(maxsize=4096)
def is_percentile_column(column: str) -> bool:
    """Tell whether a column holds a percentile (P95, P99, P50, P99.9, …)."""
    return _PERCENTILE_COLUMN.fullmatch(column) is not None


def check_row(row: object) -> None:
    """Check that a row has a name column, the variant columns as strings, an integer JobRuns and numeric percentiles.

    Raises:
        InputError: naming the column and the problem (without a path: callers add where the row came from).
    """
    if not isinstance(row, Mapping):
        raise InputError(f"expected an object, found {_json_type(row)}")
    name = name_column(row)
    missing = [column for column in _REQUIRED if column not in row]
    if missing:
        raise InputError(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for column in (name, *VARIANT_COLUMNS, *(c for c in (*ALERT_SCOPE_COLUMNS, *OBSERVED_COLUMNS) if c in row)):
        if not isinstance(row[column], str):
            raise InputError(f"{column} is {_json_type(row[column])}, expected a string")
    job_runs = row["JobRuns"]
    if isinstance(job_runs, bool) or not isinstance(job_runs, numbers.Integral):
        raise InputError(f"JobRuns is {job_runs!r}, expected an integer")
    for column, value in row.items():
        if is_percentile_column(column):
            try:
                percentile_value(value)
            except InputError as error:
                raise InputError(f"{column}: {error.reason}") from None


class _DuplicateColumn(Exception):
    pass


def _pairs_to_row(pairs: list[tuple[str, object]]) -> dict[str, object]:
    row: dict[str, object] = {}
    for key, value in pairs:
        if key in row:
            raise _DuplicateColumn(key)
        row[key] = value
    return row


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _describe(row: object) -> str:
    if isinstance(row, Mapping):
        try:
            return sort_key(row)
        except (InputError, KeyError):
            pass
    return "unkeyed"


@lru_cache(maxsize=256)
def _column_order(row: tuple[str, ...]) -> tuple[str, ...]:
    """Order a row's columns as origin's newest files do: name, [AlertNamespace, AlertLevel, FirstObserved,
    LastObserved], variant, MasterNodesUpdated, JobRuns, P95, P99, P75, P50, then the rest (rows share columns)."""
    scope = [column for column in (*ALERT_SCOPE_COLUMNS, *OBSERVED_COLUMNS) if column in row]
    first = [name_column(dict.fromkeys(row)), *scope, *VARIANT_COLUMNS]
    if MASTER_NODES_UPDATED in row:
        first.append(MASTER_NODES_UPDATED)
    first += ["JobRuns", "P95", "P99"]
    placed = set(first)
    extra_percentiles = sorted(
        (column for column in row if is_percentile_column(column) and column not in placed),
        key=lambda column: -float(column[1:]),
    )
    placed.update(extra_percentiles)
    return (*first, *extra_percentiles, *(column for column in row if column not in placed))


def _render_value(column: str, value: object) -> str:
    if is_percentile_column(column):
        return _go_string(format_percentile(value))  # type: ignore[arg-type]  # checked by check_row
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real | Decimal):
        return _go_float(float(value), column)
    raise InputError(f"column {column} holds {type(value).__name__}, which query_results.json cannot hold")


def _go_string(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return f'"{text}"'
    return '"' + _NEEDS_ESCAPE.sub(_go_escape, text) + '"'


def _go_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _GO_SHORT_ESCAPES:
        # Go ≥ 1.22 writes \b and \f; the files are written by current Go.
        return _GO_SHORT_ESCAPES[char]
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"
    return f"\\u{ord(char):04x}"


def _go_float(number: float, column: str) -> str:
    """Format a float as Go's encoding/json does (shortest round-trip; exponent below 1e-6 and from 1e21)."""
    if not math.isfinite(number):
        raise InputError(f"column {column} holds {number}, which JSON cannot hold")
    magnitude = abs(number)
    if magnitude == 0 or 1e-6 <= magnitude < 1e21:
        text = format(Decimal(repr(number)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = repr(number).split("e")
    return f"{mantissa.removesuffix('.0')}e{exponent[0]}{exponent[1:].lstrip('0')}"
