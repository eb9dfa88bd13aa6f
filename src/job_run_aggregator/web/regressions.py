"""The dashboard's view of `regressions`, and the two small hooks the trend and overview pages call.

- `/regressions` (and `/regressions.json`): every change point of the window, worst first, each linking to its
  cell's trend (disruptions) with the window that shows the change.
- `cell_changes`: the change points of one cell, for the trend chart's markers.

The heat map's marks are drawn by static/regressions.js from `/regressions.json` for the overview's release and
window, after the page has loaded: detection over every series of a year-scale window takes seconds, and the
overview must not wait for it.

Parameters reach SQL only as query parameters (regressions/series.py); a bad one raises InputError (a 400).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from job_run_aggregator.errors import InputError
from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS
from job_run_aggregator.regressions import DetectOptions, Regression, SeriesQuery, detect, find_regressions
from job_run_aggregator.regressions.series import DEFAULT_DAYS, SeriesKey, load_runs, seconds_of
from job_run_aggregator.warehouse.base import Warehouse
from job_run_aggregator.web import pages

if TYPE_CHECKING:
    from job_run_aggregator.web.app import Dashboard
    from job_run_aggregator.web.views import Params

DEFAULT_MIN_RUNS = 20
CELL_FIELDS = ("from_release", "platform", "architecture", "network", "topology")


def regressions_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """Every significant change in the window (default 42 days), worst first, with links to the trends."""
    data_type = p.text("data_type") or DISRUPTIONS
    if data_type not in (DISRUPTIONS, ALERTS):
        raise InputError(f"data_type={data_type!r}: choose disruptions or alerts")
    days = _whole(p.values, "days", DEFAULT_DAYS, 1, 400)
    min_runs = _whole(p.values, "min_runs", DEFAULT_MIN_RUNS, 2, 10**9)
    improvements = (p.text("improvements") or "") in ("1", "true", "yes", "on")
    release = p.text("release")
    q = SeriesQuery(data_type=data_type, now=p.end, days=days, release=release, min_runs=min_runs)
    start, end = q.window
    with dash.warehouse() as wh:
        report = find_regressions(wh, q, improvements=improvements)
    items = [_item(r, p, days) for r in report.items]
    return {
        "state": "ok" if report.series else "no-data",
        "message": "" if report.series else (f"No {data_type} series with at least {min_runs} runs between "
                                             f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC."),
        "window": {"start": start.isoformat(), "end": end.isoformat(), "days": days},
        "filters": {"data_type": data_type, "release": release or "", "days": days, "min_runs": min_runs,
                    "improvements": improvements, "now": p.values.get("now", "")},
        "series": report.series,
        "items": items,
    }


def _item(r: Regression, p: Params, days: int) -> dict[str, Any]:
    item = r.as_json()
    v = r.variant
    cell = {"backend": r.name, "release": v["Release"], **dict(zip(CELL_FIELDS, r.key[2:], strict=True))}
    item["label"] = pages.variant_label(v)
    item["variant_key"] = pages.variant_key(r.key[1:])  # the heat map's data-variant of the item's cell
    # Backends have a trend page; alerts do not (yet). The link carries the window so the change is on the chart.
    item["trend_url"] = p.link("/trend", **cell, days=str(days)) if r.data_type == DISRUPTIONS else None
    item["cell_url"] = p.link("/cell", **cell, days=str(days)) if r.data_type == DISRUPTIONS else None
    return item


def cell_changes(wh: Warehouse, backend: str, variant: Sequence[str], end: datetime, days: int) -> list[dict[str, Any]]:
    """The change points (both directions) of one backend × variant over `days` before `end`, for the trend."""
    key: SeriesKey = (backend, *variant)  # type: ignore[assignment]  # a cell's variant is six strings
    q = SeriesQuery(now=end, days=days, min_runs=DEFAULT_MIN_RUNS)
    runs = load_runs(wh, q, [key]).get(key, [])
    out = []
    for change in detect(seconds_of(runs), DetectOptions(min_runs=DEFAULT_MIN_RUNS)):
        first = runs[change.index]
        out.append({
            "ChangeTime": first.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "day": first.start.date().isoformat(),
            "Direction": "regression" if change.worse else "improvement", "PValue": change.p_value,
            "Before": change.before.as_json(), "After": change.after.as_json(),
            "FirstRun": {"JobName": first.job_name, "JobRunName": first.job_run_name,
                         "ReleaseTag": first.release_tag},
        })
    return out


def _whole(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = (values.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise InputError(f"{name}={text!r}: give a whole number from {low} to {high}")
    return int(text)
