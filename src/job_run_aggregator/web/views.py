"""The page views: parse a request's parameters, query the warehouse, hand the rows to pages.py.

Each view returns the dict that the HTML page renders and the `.json` twin returns. Parameters reach SQL only
as query parameters; a bad one raises InputError (a 400 with the message).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.history.compare import DEFAULT_LEEWAY_PERCENT, compare
from job_run_aggregator.errors import InputError, JraError
from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS, VARIANT, HistoryQuery, historical_rows
from job_run_aggregator.matching.matcher import RULES, HistoricalData, JobType, historical_data, job_type_for
from job_run_aggregator.history.results_file import name_column, read_query_results
from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.model import release_order
from job_run_aggregator.web import pages
from job_run_aggregator.web.queries import Cell, cell_runs, daily_percentiles, releases

if TYPE_CHECKING:
    from job_run_aggregator.web.app import Dashboard

KEPT = ("now", "days", "min_runs")  # carried from page to page so a view is reproducible by its URL
CELL_FIELDS = ("from_release", "platform", "architecture", "network", "topology")
MAX_DAYS = 400
DEFAULT_WORST = 20


@dataclass(frozen=True, slots=True)
class Params:
    """A request's parameters (query string, plus form fields and uploads for POST /compare)."""

    values: Mapping[str, str]
    files: Mapping[str, tuple[str, bytes]]
    now: datetime | None
    days: int
    min_runs: int
    kept: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, query: Mapping[str, str], form: Mapping[str, Any], min_runs: int, days: int) -> Params:
        values = {k: v for k, v in {**query, **form}.items() if isinstance(v, str)}
        files = {k.removesuffix("_file"): v for k, v in form.items() if k.endswith("_file")}
        return cls(
            values, files,
            now=_moment(values.get("now")),
            days=_integer(values, "days", days, 1, MAX_DAYS),
            min_runs=_integer(values, "min_runs", min_runs, 0, 10**9),
            kept={k: values[k] for k in KEPT if values.get(k)},
        )

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value.strip() if value and value.strip() else None

    def window(self) -> tuple[datetime, datetime]:
        end = self.now or datetime.now(timezone.utc).replace(microsecond=0)
        return end - timedelta(days=self.days), end

    def cell(self) -> Cell:
        """The backend and variant named by the parameters; FromRelease, Platform… may be empty."""
        backend, release = self.values.get("backend", ""), self.text("release")
        if not backend or not release:
            raise InputError("give backend and release (and from_release, platform, architecture, network, "
                             "topology): pick a cell on the overview")
        values = (release, *(self.values.get(f, "").strip() for f in CELL_FIELDS))
        return Cell(backend, values)  # type: ignore[arg-type]  # six values by construction

    def link(self, path: str, **params: str | None) -> str:
        return path + query_string({**params, **self.kept})


def query_string(params: Mapping[str, str | None]) -> str:
    """`?a=1&b=2` for the values that are not None ('' is kept: an empty FromRelease is a value)."""
    given = {k: v for k, v in params.items() if v is not None}
    return f"?{urlencode(given)}" if given else ""


def cell_params(cell: Cell) -> dict[str, str]:
    variant = dict(zip(CELL_FIELDS, cell.variant[1:], strict=True))
    return {"backend": cell.backend, "release": cell.variant[0], **variant}


def nav_links(query: Mapping[str, str]) -> dict[str, str]:
    kept = {k: query[k] for k in KEPT if query.get(k)}
    return {"overview": "/" + query_string(kept), "compare": "/compare", "match": "/match" + query_string(kept)}


def window_json(start: datetime, end: datetime, days: int) -> dict[str, Any]:
    return {"start": start.isoformat(), "end": end.isoformat(), "days": days}


# ---- overview, trend, drill-down ------------------------------------------------------------------------------


def overview_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """Heat map of backend × variant P99 for one release (default: the newest) or all."""
    start, end = p.window()
    upgrade = p.text("upgrade") or "all"
    if upgrade not in pages.UPGRADE_FILTERS:
        raise InputError(f"upgrade={upgrade!r}: choose one of {', '.join(pages.UPGRADE_FILTERS)}")
    asked = p.text("release")
    with dash.warehouse() as wh:
        known = sorted(releases(wh), key=_release_order, reverse=True)
        release = (known[0] if known else None) if asked is None else (None if asked == "all" else asked)
        q = HistoryQuery(DISRUPTIONS, now=end, days=p.days, min_job_runs=0, release=release)
        rows = historical_rows(wh, q) if known else []
    heat = pages.build_heat_map(rows, p.min_runs, upgrade, lambda cell: p.link("/cell", **cell_params(cell)))
    return {
        "state": "ok" if heat["cells"] else "no-data",
        "message": "" if heat["cells"] else _no_data(release, start, end, known),
        "window": window_json(start, end, p.days),
        "filters": {"release": release or "all", "upgrade": upgrade, "min_runs": p.min_runs, "days": p.days,
                    "now": p.values.get("now", "")},
        "releases": known,
        **heat,
        "trend_links": {b: p.link("/trend", **cell_params(_worst_cell(heat, b))) for b in heat["backends"]},
    }


def trend_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """P50/P95/P99 and run counts per day for one backend and variant."""
    cell = p.cell()
    start, end = p.window()
    with dash.warehouse() as wh:
        rows = daily_percentiles(wh, cell, start, end)
    days = pages.fill_days(rows, start, end)
    total = sum(d["JobRuns"] for d in days)
    return {
        "state": "ok" if total else "no-data",
        "message": "" if total else _no_cell_data(cell, start, end),
        **_cell_head(cell, p, start, end),
        "days": days,
        "total_runs": total,
    }


def cell_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """Every run of one backend and variant, worst first, with the export's P95/P99 for the variant."""
    cell = p.cell()
    start, end = p.window()
    worst = _integer(p.values, "worst", DEFAULT_WORST, 1, 10_000)
    with dash.warehouse() as wh:
        runs = cell_runs(wh, cell, start, end)
        q = HistoryQuery(DISRUPTIONS, now=end, days=p.days, min_job_runs=0, release=cell.variant[0])
        exported = next((r for r in historical_rows(wh, q) if cell.matches(r)), None)
    summary = pages.summarise_runs(r["Seconds"] for r in runs)
    history = None if exported is None else {k: exported[k] for k in ("JobRuns", "P95", "P99")}
    note = ""
    if history and summary["p99"] is not None and not math.isclose(history["P99"] or 0.0, summary["p99"]):
        note = ("The export's P95/P99 are computed over every architecture of this variant (the real query "
                "groups by Architecture but does not partition by it); this cell's own runs give "
                f"P95 {summary['p95']:.2f} s and P99 {summary['p99']:.2f} s.")
    return {
        "state": "ok" if runs else "no-data",
        "message": "" if runs else _no_cell_data(cell, start, end),
        **_cell_head(cell, p, start, end),
        "history": history,
        "greyed": history is None or history["JobRuns"] < p.min_runs,
        "min_runs": p.min_runs,
        "summary": summary,
        "note": note,
        "worst": worst,
        "runs": [pages.run_row(r, dash.bucket_url) for r in runs],
    }


def _cell_head(cell: Cell, p: Params, start: datetime, end: datetime) -> dict[str, Any]:
    variant = cell.variant_dict
    return {
        "backend": cell.backend,
        "variant": variant,
        "label": pages.variant_label(variant),
        "window": window_json(start, end, p.days),
        "links": {
            "overview": p.link("/", release=variant["Release"]),
            "trend": p.link("/trend", **cell_params(cell)),
            "cell": p.link("/cell", **cell_params(cell)),
        },
    }


def _worst_cell(heat: Mapping[str, Any], backend: str) -> Cell:
    cells = [c for c in heat["cells"] if c["BackendName"] == backend]
    worst = min(cells, key=lambda c: (c["greyed"], -(c["P99"] or 0.0)))
    return Cell(backend, tuple(worst[c] for c in VARIANT))


# ---- compare and match ----------------------------------------------------------------------------------------


def compare_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """Two query_results.json files (uploaded, or paths on the server) compared; the new side may be the warehouse."""
    form = {"current": p.text("current") or (dash.historical[0].path if dash.historical else ""),
            "new": p.text("new") or "", "leeway": p.text("leeway") or f"{DEFAULT_LEEWAY_PERCENT:g}",
            "target_release": p.text("target_release") or "", "previous_release": p.text("previous_release") or ""}
    current = _input_file(p, "current")
    if current is None:
        return {"state": "no-query", "form": form,
                "message": "Give the current query_results.json (upload it, or a path on the server) and "
                           "optionally the new one; without a new file the warehouse's data is compared."}
    current_rows = read_query_results(current[1], current[0])
    new = _input_file(p, "new")
    if new is not None:
        new_rows, new_label = read_query_results(new[1], new[0]), new[0]
    else:
        kind = ALERTS if current_rows and name_column(current_rows[0]) == "AlertName" else DISRUPTIONS
        q = HistoryQuery(kind, now=p.window()[1])
        with dash.warehouse() as wh:
            new_rows = historical_rows(wh, q)
        start, end = q.window
        new_label = f"warehouse {kind}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, ≥ {q.minimum} runs"
    leeway = _number(p.values, "leeway", DEFAULT_LEEWAY_PERCENT)
    result = compare(current_rows, new_rows, leeway, p.text("target_release"), p.text("previous_release"))
    return {"state": "ok", "form": form, "sources": {"current": current[0], "new": new_label},
            **pages.compare_view(result)}


def match_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """A job name (or a JobType) → its variant, the matched historical key and every fallback tried."""
    sources = [{"id": str(i), "label": h.path} for i, h in enumerate(dash.historical)]
    sources.append({"id": "warehouse", "label": f"the warehouse (disruptions, last {p.days} days)"})
    source = p.text("source") or sources[0]["id"]
    rules = p.text("rules") or "current"
    form = {"job": p.text("job") or "", "name": p.text("name") or "", "rules": rules, "source": source,
            "release": p.values.get("release", ""), **{f: p.values.get(f, "") for f in CELL_FIELDS}}
    head: dict[str, Any] = {"form": form, "sources": sources, "rules_choices": list(RULES),
                            "min_job_runs": p.min_runs}
    if rules not in RULES:
        return {"state": "bad-request", "message": f"rules={rules!r}: choose one of {', '.join(RULES)}", **head}
    job = p.text("job")
    if not job and not p.text("release"):
        return {"state": "no-query", "message": "Give a job name, or a JobType (at least a release).", **head}
    try:
        variant = variant_for(job) if job else None
    except InputError as exc:
        return {"state": "bad-request", "message": str(exc), **head}
    job_type = job_type_for(job) if job else JobType(form["release"].strip(), *(form[f].strip() for f in CELL_FIELDS))
    data = _historical(dash, p, source)
    name = p.text("name")
    matches = [data.best_match(name, job_type, rules, p.min_runs)] if name else data.match_all(
        job_type, rules, p.min_runs)
    return {
        "state": "ok" if matches else "no-data",
        "message": "" if matches else f"{data.path} holds no rows.",
        **head,
        "variant": pages.variant_dict(variant) if variant else None,
        "job_type": pages.job_type_dict(job_type),
        "job_type_go": job_type.go_repr(),
        "source_label": data.path,
        "kind": data.kind,
        "matched": sum(1 for m in matches if m.found),
        "matches": [pages.match_row(m) for m in matches],
    }


def _historical(dash: Dashboard, p: Params, source: str) -> HistoricalData:
    if source != "warehouse":
        if not source.isdigit() or int(source) >= len(dash.historical):
            raise InputError(f"source={source!r}: no such historical data file")
        return dash.historical[int(source)]
    start, end = p.window()
    # Every row, whatever its run count: the matcher's own threshold decides, and the chain shows it.
    q = HistoryQuery(DISRUPTIONS, now=end, days=p.days, min_job_runs=0)
    with dash.warehouse() as wh:
        rows = historical_rows(wh, q)
    return historical_data(rows, f"warehouse disruptions {start:%Y-%m-%d} to {end:%Y-%m-%d}")


def _input_file(p: Params, name: str) -> tuple[str, bytes] | None:
    if name in p.files:
        return p.files[name]
    path = p.text(name)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return path, f.read()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=path) from None


# ---- the local bucket ------------------------------------------------------------------------------------------


def bucket_response(dash: Dashboard, request: Request, path: str) -> Response:
    """List a run folder of a local bucket, or show one of its files as plain text (never as HTML)."""
    if dash.bucket_url.startswith("gs://"):
        return dash.error(request, 404, "The bucket is on GCS; open runs through their prow links.")
    base = path.strip("/")
    try:
        bucket = open_bucket(dash.bucket_url)
        files = list(bucket.list_files(base)) if base else []
        body = b"" if files else bucket.read(base)
    except JraError as exc:
        return dash.error(request, 404, f"Not in the bucket folder: {exc}")
    if files:
        listing = [{"name": f.removeprefix(base + "/"), "href": "/bucket/" + quote(f)} for f in files]
        return dash.render("bucket", page="bucket", title="Run folder", json_url=None,
                           nav=nav_links(request.query_params),
                           data={"path": base, "files": listing, "local_path": bucket.browse_url(base)})
    try:
        body.decode("utf-8")
        media, disposition = "text/plain; charset=utf-8", "inline"
    except UnicodeDecodeError:
        media, disposition = "application/octet-stream", "attachment"
    # Artifacts are untrusted: never served as HTML in our origin, and sandboxed should a browser sniff anyway.
    return Response(body, media_type=media, headers={
        "content-disposition": disposition, "content-security-policy": "sandbox; default-src 'none'"})


# ---- parameter parsing -----------------------------------------------------------------------------------------


def _moment(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"now={text!r} is not an ISO date-time like 2024-06-01T12:00:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _integer(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = (values.get(name) or "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise InputError(f"{name}={value} is out of range ({low} to {high})")
    return value


def _number(values: Mapping[str, str], name: str, default: float) -> float:
    text = (values.get(name) or "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{name}={text!r} is not a number") from None


def _release_order(release: str) -> tuple[int, int, int, str]:
    return release_order(release)


def _no_data(release: str | None, start: datetime, end: datetime, known: list[str]) -> str:
    if not known:
        return "The Jobs table is empty: prime it (prime-job-table) and load runs (upload-all)."
    scope = f" for {release}" if release else ""
    return (f"No disruption data{scope} between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC. "
            "Widen the window (days) or pick another release.")


def _no_cell_data(cell: Cell, start: datetime, end: datetime) -> str:
    return (f"No runs of {cell.backend} on {pages.variant_label(cell.variant_dict)} between "
            f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC.")
