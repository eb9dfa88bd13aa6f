"""CSV downloads: every table of every page, as `<page>.csv?<the page's query>&table=<name>`.

A page's tables are the lists of flat rows in its JSON (the overview's `cells`, the drill-down's `runs`, the
compare page's `changed`/`added`/`missing`, …), so a new page gets its CSV without code here. Columns are the
rows' scalar fields in their JSON order, minus presentation-only fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse, Response

HIDDEN = frozenset({"href", "level", "variant", "folder_url_label"})
# A spreadsheet runs a cell starting with one of these as a formula; names come from data (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def table_names(page: str, data: Mapping[str, Any]) -> list[str]:
    """The page's tables, in the JSON's order: keys holding a non-empty list of objects."""
    return [k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]


def columns_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if key not in HIDDEN and not isinstance(value, (list, dict)):
                seen.setdefault(key, None)
    return list(seen)


def render_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = columns_of(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def csv_response(page: str, data: Mapping[str, Any], table: str | None, status: int) -> Response:
    """The named table (default: the page's first) as a CSV download; a JSON error when there is none."""
    names = table_names(page, data)
    if status >= 400 and not names:
        return JSONResponse({"state": data.get("state"), "message": data.get("message")}, status_code=status)
    chosen = table or (names[0] if names else None)
    if chosen is None or chosen not in names:
        if chosen is not None and chosen in data and isinstance(data[chosen], list):
            return _download(page, chosen, render_csv([]))  # a known table that is empty: a header-less file
        choices = ", ".join(names) or "none"
        return JSONResponse({"state": "bad-request", "message": f"table={chosen!r}: choose one of {choices}"},
                            status_code=400)
    return _download(page, chosen, render_csv(data[chosen]))


def _download(page: str, table: str, text: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{page}-{table}.csv"'})


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
