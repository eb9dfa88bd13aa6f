"""What each dashboard page shows, as plain JSON-ready data built from query rows (pure: no I/O).

The HTML page and its `.json` twin render the same dict; links are passed in as functions so this module needs
no request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from job_run_aggregator.history.compare import Change, Comparison, needs_review, render_markdown
from job_run_aggregator.history.percentiles import VARIANT
from job_run_aggregator.matching.matcher import Attempt, DataKey, JobType, Match
from job_run_aggregator.model import Variant
from job_run_aggregator.model import format_seconds as _format_seconds
from job_run_aggregator.web.queries import Cell

# P99 seconds at which a heat-map cell moves to the next colour; fixed so colours mean the same on every view.
HEAT_STEPS = (0.0, 1.0, 3.0, 10.0, 30.0, 60.0, 120.0, 300.0)
UPGRADE_FILTERS = ("all", "upgrade", "non-upgrade")
PROW_VIEW = "https://prow.ci.openshift.org/view/gs/{bucket}/{path}"
GCS_BROWSER = "https://console.cloud.google.com/storage/browser/{bucket}/{path}"


def heat_level(p99: float | None) -> int:
    """Colour step of a P99: 0 for no disruption, up to len(HEAT_STEPS) for over five minutes."""
    value = p99 or 0.0
    return sum(1 for step in HEAT_STEPS if value > step)


def heat_legend() -> list[str]:
    """Labels of the heat-map colour steps, in level order."""
    return ["0 s", *(f"≤ {step:g}" for step in HEAT_STEPS[1:]), f"> {HEAT_STEPS[-1]:g}"]


def format_seconds(value: float | None) -> str:
    """Seconds for a table cell: one decimal under ten, whole seconds above; nothing for no value."""
    if value is None:
        return ""
    return _format_seconds(value, places=1 if abs(value) < 10 else 0, unit="", trim=False)


def variant_key(values: Sequence[str]) -> str:
    """A stable text key of a variant, as used in JSON and element attributes."""
    return "|".join(values)


def variant_label(variant: Mapping[str, str]) -> str:
    """`4.14 from 4.13 · aws amd64 ovn ha`; an empty field shows as "-"."""
    upgrade = f" from {variant['FromRelease']}" if variant["FromRelease"] else ""
    rest = " ".join(variant[c] or "-" for c in ("Platform", "Architecture", "Network", "Topology"))
    return f"{variant['Release']}{upgrade} · {rest}"


def is_upgrade(row: Mapping[str, Any]) -> bool:
    return bool(row.get("FromRelease"))


def keep_upgrade(row: Mapping[str, Any], upgrade: str) -> bool:
    """Apply the upgrade/non-upgrade filter to a variant row."""
    return upgrade == "all" or (upgrade == "upgrade") == is_upgrade(row)


def build_heat_map(
    rows: Iterable[Mapping[str, Any]], min_runs: int, upgrade: str, link: Callable[[Cell], str]
) -> dict[str, Any]:
    """Lay export rows out as backend × variant cells, worst rows and columns first.

    Cells under `min_runs` are kept but greyed and do not count towards the ordering; `link` gives a cell's
    drill-down URL.
    """
    cells: list[dict[str, Any]] = []
    worst_backend: dict[str, float] = {}
    worst_variant: dict[str, float] = {}
    variants: dict[str, dict[str, str]] = {}
    for row in rows:
        if not keep_upgrade(row, upgrade):
            continue
        values = tuple(str(row[c]) for c in VARIANT)
        key = variant_key(values)
        variant = dict(zip(VARIANT, values, strict=True))
        variants[key] = variant
        greyed = int(row["JobRuns"]) < min_runs
        p99 = row["P99"] or 0.0
        backend = str(row["BackendName"])
        worst_backend.setdefault(backend, -1.0)
        worst_variant.setdefault(key, -1.0)
        if not greyed:
            worst_backend[backend] = max(worst_backend[backend], p99)
            worst_variant[key] = max(worst_variant[key], p99)
        cell = Cell(backend, values)  # type: ignore[arg-type]  # six values by construction
        cells.append({
            "BackendName": backend, "variant": key, **variant, "JobRuns": int(row["JobRuns"]),
            "P95": row["P95"], "P99": row["P99"], "greyed": greyed, "level": heat_level(row["P99"]),
            "href": link(cell),
        })
    backends = sorted(worst_backend, key=lambda b: (-worst_backend[b], b))
    order = sorted(worst_variant, key=lambda k: (-worst_variant[k], k))
    ranked = sorted((c for c in cells if not c["greyed"]), key=lambda c: (-(c["P99"] or 0.0), c["BackendName"]))
    return {
        "backends": backends,
        "variants": [{"key": k, "label": variant_label(variants[k]), **variants[k]} for k in order],
        "cells": cells,
        "worst": ranked[:5],
        "greyed_cells": sum(1 for c in cells if c["greyed"]),
    }


def heat_grid(heat_map: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of the heat-map table: one per backend, one slot (cell or None) per variant column."""
    by_key = {(c["BackendName"], c["variant"]): c for c in heat_map["cells"]}
    return [
        {"backend": b, "cells": [by_key.get((b, v["key"])) for v in heat_map["variants"]]}
        for b in heat_map["backends"]
    ]


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile of sorted values (BigQuery PERCENTILE_CONT, numpy "linear")."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarise_runs(seconds: Iterable[float]) -> dict[str, Any]:
    """Count, mean and the box-plot numbers (min, quartiles, max) plus P95/P99 of one cell's runs."""
    values = sorted(float(s) for s in seconds)
    if not values:
        return {"count": 0, "mean": None, "min": None, "q1": None, "median": None, "q3": None, "max": None,
                "p95": None, "p99": None}
    return {
        "count": len(values),
        "mean": sum(values) / len(values),
        "min": values[0],
        "q1": percentile(values, 0.25),
        "median": percentile(values, 0.5),
        "q3": percentile(values, 0.75),
        "max": values[-1],
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
    }


def fill_days(rows: Iterable[Mapping[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """One entry per UTC day of the window, in order; days without runs have JobRuns 0 and no percentiles."""
    by_day = {_as_date(r["Day"]): r for r in rows}
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    out = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        r = by_day.get(day)
        out.append({
            "day": day.isoformat(),
            "JobRuns": int(r["JobRuns"]) if r else 0,
            **{p: (float(r[p]) if r and r[p] is not None else None) for p in ("P50", "P95", "P99")},
        })
    return out


def run_links(bucket_url: str, job_name: str, run_id: str) -> dict[str, str | None]:
    """Where a person can look at a run: its folder in the bucket and, for GCS buckets, prow's job view."""
    path = f"logs/{quote(job_name, safe='')}/{quote(run_id, safe='')}"
    if bucket_url.startswith("gs://"):
        bucket = quote(bucket_url.removeprefix("gs://").strip("/"), safe="")
        return {"folder": GCS_BROWSER.format(bucket=bucket, path=path),
                "prow": PROW_VIEW.format(bucket=bucket, path=path)}
    # A local bucket is browsed through the dashboard itself: browsers refuse file:// links from http pages.
    return {"folder": f"/bucket/{path}/", "prow": None}


def run_row(row: Mapping[str, Any], bucket_url: str) -> dict[str, Any]:
    """A drill-down run as JSON: the query row, times in ISO form, and its links."""
    links = run_links(bucket_url, str(row["JobName"]), str(row["JobRunName"]))
    start = row["StartTime"]
    return {
        "JobRunName": str(row["JobRunName"]),
        "JobName": str(row["JobName"]),
        "StartTime": start.isoformat() if isinstance(start, datetime) else start,
        "Seconds": int(row["Seconds"]),
        "Status": row.get("Status"),
        "Cluster": row.get("Cluster"),
        "ReleaseTag": row.get("ReleaseTag"),
        "MasterNodesUpdated": row.get("MasterNodesUpdated"),
        "folder_url": links["folder"],
        "prow_url": links["prow"],
    }


def change_row(change: Change, name_column: str) -> dict[str, Any]:
    """One compared key side by side: current and new P95/P99 with their percent changes."""
    row = change.row
    return {
        "name": row[name_column],
        **{c: row[c] for c in VARIANT},
        "JobRuns": row["JobRuns"],
        "current_P95": change.previous_p95,
        "current_P99": change.previous_p99,
        "new_P95": change.p95,
        "new_P99": change.p99,
        "P95_change": _finite(change.p95_change),
        "P99_change": _finite(change.p99_change),
        "P99_change_text": _change_text(change.p99_change),
        "P99_delta": change.p99_delta,
    }


def compare_view(comparison: Comparison) -> dict[str, Any]:
    """The analyze-historical-data report as data: summary, keys sorted by P99 change, and the markdown."""
    c = comparison
    markdown = render_markdown(c)
    increases = [change_row(ch, c.name_column) | {"kind": "increase"} for ch in c.increases]
    decreases = [change_row(ch, c.name_column) | {"kind": "decrease"} for ch in c.decreases]
    changed = sorted([*increases, *decreases], key=lambda r: (-_change_order(r), r["name"]))
    return {
        "summary": markdown.splitlines()[0].replace("**", ""),
        "name_column": c.name_column,
        "release": c.release,
        "target_release": c.target_release,
        "current_release": c.current_release,
        "leeway": c.leeway,
        "needs_review": needs_review(c),
        "counts": {"increases": len(c.increases), "decreases": len(c.decreases), "added": len(c.added),
                   "missing": len(c.missing), "within_leeway": c.within_leeway, "unchanged": c.unchanged},
        "changed": changed,
        "added": [change_row(ch, c.name_column) for ch in c.added],
        "missing": [change_row(ch, c.name_column) for ch in c.missing],
        "markdown": markdown,
    }


def job_type_dict(job_type: JobType) -> dict[str, str]:
    return dict(zip(VARIANT, job_type.values(), strict=True))


def variant_dict(variant: Variant) -> dict[str, Any]:
    return {
        "Release": variant.release, "FromRelease": variant.from_release, "Platform": variant.platform,
        "Architecture": variant.architecture, "Network": variant.network, "Topology": variant.topology,
        "IPMode": variant.ip_mode, "RunsUpgrade": variant.runs_upgrade, "RunsE2EParallel": variant.runs_e2e_parallel,
        "RunsE2ESerial": variant.runs_e2e_serial,
    }


def match_row(match: Match) -> dict[str, Any]:
    """One best match with its fallback chain, for the explainer."""
    return {
        "name": match.requested_key.name,
        **match.to_json(),
        "is_fallback": match.is_fallback,
        "requested_key": match.requested_key.to_json(),
        "matched_label": _key_label(match.matched_key),
        "tried": [_attempt(a) for a in match.tried],
    }


def _attempt(attempt: Attempt) -> dict[str, object]:
    return attempt.to_json() | {"label": _key_label(attempt.key)}


def _key_label(key: DataKey | None) -> str | None:
    return None if key is None else key.job_type.short()


def _change_order(row: Mapping[str, Any]) -> float:
    # A rise from zero has no finite percentage: it sorts above every finite rise.
    if row["P99_change"] is None:
        return math.inf if row["P99_delta"] > 0 else 0.0
    return row["P99_change"]


def _finite(value: float | None) -> float | None:
    # JSON has no infinity: a rise from zero is null here and "+∞" in the text field.
    return None if value is None or math.isinf(value) else value


def _change_text(value: float | None) -> str:
    if value is None:
        return ""
    if math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    return f"{value:+.1f}%"


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
