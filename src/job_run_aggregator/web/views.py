"""The page views: parse a request's parameters, query the warehouse, hand the rows to pages.py.

Each view returns the dict that the HTML page renders and the `.json` twin returns. Parameters reach SQL only
as query parameters; a bad one raises InputError (a 400 with the message).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from job_run_aggregator.artifacts.buckets.base import is_local_bucket, open_bucket
from job_run_aggregator.artifacts.parse.disruption import is_disruption_path
from job_run_aggregator.errors import InputError, JraError
from job_run_aggregator.history.compare import DEFAULT_LEEWAY_PERCENT, compare
from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS, VARIANT, HistoryQuery, historical_rows
from job_run_aggregator.history.results_file import name_column, read_query_results
from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.matching.matcher import RULES, HistoricalData, JobType, historical_data, job_type_for
from job_run_aggregator.model import release_order
from job_run_aggregator.web import pages
from job_run_aggregator.web import regressions as regressions_view
from job_run_aggregator.web.inputs import check_rows_document
from job_run_aggregator.web.queries import Cell, cell_runs, releases

if TYPE_CHECKING:
    from job_run_aggregator.web.app import Dashboard

KEPT = ("now", "days", "min_runs")  # carried from page to page so a view is reproducible by its URL
CELL_FIELDS = ("from_release", "platform", "architecture", "network", "topology")
MAX_DAYS = 400
DEFAULT_WORST = 20
DEFAULT_ROLLING = 7
# `now` must leave room for the longest window and be a date CI data can have.
EARLIEST_NOW = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_NOW = datetime(2100, 1, 1, tzinfo=UTC)
MAX_LEEWAY = 10_000.0


@dataclass(frozen=True, slots=True)
class Params:
    """A request's parameters (query string, plus form fields and uploads for POST /compare)."""

    values: Mapping[str, str]
    files: Mapping[str, tuple[str, bytes]]
    now: datetime | None
    days: int
    min_runs: int
    kept: dict[str, str] = field(default_factory=dict)
    # Without `now` in the URL a window ends at the current minute: the same for every request of that minute
    # (and so cacheable), and the permalink fixes it.
    clock: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0))

    @classmethod
    def parse(cls, query: Mapping[str, str], form: Mapping[str, Any], min_runs: int, days: int,
              clock: datetime | None = None) -> Params:
        values = {k: v for k, v in {**query, **form}.items() if isinstance(v, str)}
        files = {k.removesuffix("_file"): v for k, v in form.items() if k.endswith("_file")}
        return cls(
            values, files,
            now=_moment(values.get("now")),
            days=_integer(values, "days", days, 1, MAX_DAYS),
            min_runs=_integer(values, "min_runs", min_runs, 0, 10**9),
            kept={k: values[k].strip() for k in KEPT if values.get(k, "").strip()},
            **({"clock": clock.replace(second=0, microsecond=0)} if clock else {}),
        )

    @property
    def end(self) -> datetime:
        """The window's end: `now` from the URL, else the time of the request."""
        return self.now or self.clock

    def permalink(self, path: str) -> str:
        """This view with its window fixed: the same URL with `now` set, so it shows the same numbers later."""
        fixed = {k: v for k, v in self.values.items() if k not in ("now",) and v.strip()}
        return path + query_string({**fixed, "now": self.end.isoformat().replace("+00:00", "Z")})

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value.strip() if value and value.strip() else None

    def window(self) -> tuple[datetime, datetime]:
        return self.end - timedelta(days=self.days), self.end

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


def kept_query(query: Mapping[str, str]) -> str:
    """The query string of the parameters every page carries on (now, days, min_runs)."""
    return query_string({k: query[k] for k in KEPT if query.get(k)})


def clean_label(text: str, limit: int = 120) -> str:
    """A name from a request (an uploaded file's name) made safe to show: printable, no folders, bounded."""
    text = "".join(c if c.isprintable() else "?" for c in text).replace("\\", "/").rsplit("/", 1)[-1]
    return (text if len(text) <= limit else text[:limit] + "…") or "upload"


def window_json(start: datetime, end: datetime, days: int) -> dict[str, Any]:
    return {"start": start.isoformat(), "end": end.isoformat(), "days": days}


# ---- overview, trend, drill-down ------------------------------------------------------------------------------


def overview_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """Heat map of backend × variant P99 for one release (default: the newest) or all, filtered and compared."""
    start, end = p.window()
    upgrade = _choice(p, "upgrade", pages.UPGRADE_FILTERS, "all")
    values = _choice(p, "values", pages.VALUE_CHOICES, "export")
    against = p.text("against") or ""
    leeway = _number(p.values, "leeway", DEFAULT_LEEWAY_PERCENT, 0.0, MAX_LEEWAY)
    filters = {k: p.values.get(k, "").strip() for k in pages.FILTER_FIELDS}
    search = (p.values.get("q") or "").strip()[:200]
    asked = p.text("release")
    baseline_file = dash.historical.by_name(against, "against") if against not in ("", "previous") else None
    with dash.warehouse() as wh:
        known = sorted(releases(wh), key=_release_order, reverse=True)
        release = (known[0] if known else None) if asked is None else (None if asked == "all" else asked)
        q = HistoryQuery(DISRUPTIONS, now=end, days=p.days, min_job_runs=0, release=release)
        rows = historical_rows(wh, q) if known else []
        arch_rows = historical_rows(wh, replace(q, partition_by_architecture=True)) if rows else []
        baseline: list[dict[str, Any]] | None = None
        if against == "previous" and rows:
            previous = replace(q, now=start, partition_by_architecture=values == "architecture")
            baseline = historical_rows(wh, previous)
    if baseline_file is not None:
        baseline = [dict(r) for r in _parse_rows(baseline_file.name, baseline_file.read())]
    heat = pages.build_heat_map(rows, p.min_runs, upgrade, lambda cell: p.link("/cell", **cell_params(cell)),
                                arch_rows=arch_rows, baseline=baseline, filters=filters, search=search,
                                values=values, leeway=leeway,
                                baseline_values="export" if baseline_file is not None else values)
    baseline_label = {"": "", "previous": f"the previous {p.days} days (runs started "
                      f"{start - (end - start):%Y-%m-%d %H:%M} to {start:%Y-%m-%d %H:%M} UTC)"}.get(
        against, baseline_file.name if baseline_file else "")
    return {
        "state": "ok" if heat["cells"] else "no-data",
        "message": "" if heat["cells"] else _no_data(release, start, end, known),
        "window": window_json(start, end, p.days),
        "filters": {"release": release or "all", "upgrade": upgrade, "min_runs": p.min_runs, "days": p.days,
                    "now": p.values.get("now", ""), **filters, "q": search, "values": values, "against": against,
                    "leeway": leeway},
        "releases": known,
        "against_choices": ["previous", *dash.historical.names],
        "baseline": baseline_label,
        **heat,
        "trend_links": {b: p.link("/trend", **cell_params(_worst_cell(heat, b))) for b in heat["backends"]},
    }


def _choice(p: Params, name: str, choices: tuple[str, ...], default: str) -> str:
    value = p.text(name) or default
    if value not in choices:
        raise InputError(f"{name}={_short(value)!r}: choose one of {', '.join(choices)}")
    return value


def trend_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """Rolling P50/P95/P99 (over `rolling` days, 1 = each day alone) and runs per day for one backend and variant,
    with the export's P95/P99 over the whole window as reference lines."""
    cell = p.cell()
    start, end = p.window()
    rolling = _integer(p.values, "rolling", DEFAULT_ROLLING, 1, 60)
    with dash.warehouse() as wh:
        runs = cell_runs(wh, cell, start - timedelta(days=rolling - 1), end)
        export = _cell_export(wh, cell, end, p.days)
        changes = regressions_view.cell_changes(wh, cell.backend, cell.variant, end, p.days)
    days = pages.rolling_days(runs, start, end, rolling)
    total = sum(d["JobRuns"] for d in days)
    return {
        "state": "ok" if total else "no-data",
        "message": "" if total else _no_cell_data(cell, start, end),
        **_cell_head(cell, p, start, end),
        "rolling": rolling,
        "history": export,
        "days": days,
        "total_runs": total,
        "changes": changes,  # change points of this cell in the window, drawn on the chart (web/regressions.py)
    }


def cell_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """Every run of one backend and variant, worst first, with the export's P95/P99 for the variant."""
    cell = p.cell()
    start, end = p.window()
    worst = _integer(p.values, "worst", DEFAULT_WORST, 1, 10_000)
    with dash.warehouse() as wh:
        runs = cell_runs(wh, cell, start, end)
        history = _cell_export(wh, cell, end, p.days)
    summary = pages.summarise_runs(r["Seconds"] for r in runs)
    note = ""
    if history and history["pooled"]:
        note = (f"The export's P95/P99 are computed over {history['pooled_runs']} runs of every architecture of "
                f"this variant (the real query groups by Architecture but does not partition by it); this "
                f"cell's own {history['JobRuns']} runs give P95 {pages.format_seconds(history['arch_P95'])} s and "
                f"P99 {pages.format_seconds(history['arch_P99'])} s.")
    back = p.link("/cell", **cell_params(cell))
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
        "runs": [pages.run_row(r, dash.bucket_url, back, cell.backend) for r in runs],
    }


def _cell_export(wh: Any, cell: Cell, end: datetime, days: int) -> dict[str, Any] | None:
    """The export's numbers for one cell over the window, and its own architecture's (the corrected query)."""
    q = HistoryQuery(DISRUPTIONS, now=end, days=days, min_job_runs=0, release=cell.variant[0])
    rows = historical_rows(wh, q)
    exported = next((r for r in rows if cell.matches(r)), None)
    if exported is None:
        return None
    pool = pages.pool_key(exported)
    siblings = [r for r in rows if pages.pool_key(r) == pool]
    own = next((r for r in historical_rows(wh, replace(q, partition_by_architecture=True)) if cell.matches(r)),
               exported)
    return {"JobRuns": exported["JobRuns"], "P95": exported["P95"], "P99": exported["P99"],
            "pooled": len(siblings) > 1, "pooled_runs": sum(int(r["JobRuns"]) for r in siblings),
            "arch_P95": own["P95"], "arch_P99": own["P99"]}


def _cell_head(cell: Cell, p: Params, start: datetime, end: datetime) -> dict[str, Any]:
    variant = cell.variant_dict
    return {
        "backend": cell.backend,
        "variant": variant,
        "label": pages.variant_label(variant),
        "window": window_json(start, end, p.days),
        "cell_query": {**cell_params(cell), **{k: v for k, v in p.kept.items() if k != "days"}},
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
    """Two query_results.json files compared: each uploaded or one of `serve --historical-data` (by name); the
    new side may be the warehouse."""
    names = dash.historical.names
    form = {"current": p.text("current") or (names[0] if names else ""), "new": p.text("new") or "",
            "leeway": p.text("leeway") or f"{DEFAULT_LEEWAY_PERCENT:g}",
            "target_release": p.text("target_release") or "", "previous_release": p.text("previous_release") or "",
            "now": p.kept.get("now", "")}
    head = {"form": form, "files": names}
    leeway = _number(p.values, "leeway", DEFAULT_LEEWAY_PERCENT, 0.0, MAX_LEEWAY)
    current = _input_file(dash, p, "current")
    if current is None:
        return {"state": "no-query", **head,
                "message": "Choose the current query_results.json (one given to serve --historical-data, or "
                           "upload it) and optionally the new one; without a new file the warehouse's data is "
                           "compared."}
    current_rows = _parse_rows(*current)
    new = _input_file(dash, p, "new")
    window = None
    if new is not None:
        new_rows, new_label = _parse_rows(*new), new[0]
    else:
        kind = ALERTS if current_rows and name_column(current_rows[0]) == "AlertName" else DISRUPTIONS
        q = HistoryQuery(kind, now=p.end)
        with dash.warehouse() as wh:
            new_rows = historical_rows(wh, q)
        start, end = q.window
        new_label = f"warehouse {kind}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, ≥ {q.minimum} runs"
        window = window_json(start, end, (end - start).days)
    result = compare(current_rows, new_rows, leeway, p.text("target_release"), p.text("previous_release"))
    view = pages.compare_view(result)
    uploaded = bool(p.files)
    return {"state": "ok", **head, "sources": {"current": current[0], "new": new_label},
            "addressable": not uploaded,
            "window": window, **view}


def _local_link(link: str | None) -> str | None:
    """A link back into the dashboard taken from a request: only a path of this site ("/cell?…"), never a URL."""
    if not link or not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 2000:
        return None
    return link if all(c.isprintable() for c in link) else None


def _parse_rows(label: str, data: bytes) -> list[dict[str, object]]:
    check_rows_document(data, label)
    return read_query_results(data, label)


def match_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """A job name (or a JobType) → its variant, the matched historical key and every fallback tried."""
    sources = [{"id": str(i), "label": name} for i, name in enumerate(dash.historical.names)]
    sources.append({"id": "warehouse", "label": f"the warehouse (disruptions, last {p.days} days)"})
    source = p.text("source") or sources[0]["id"]
    rules = p.text("rules") or "current"
    form = {"job": p.text("job") or "", "name": p.text("name") or "", "rules": rules, "source": source,
            "release": p.values.get("release", ""), **{f: p.values.get(f, "") for f in CELL_FIELDS}}
    # calibrated:TARGET (issue 22) matches like current; any registered preset or family name is accepted.
    head: dict[str, Any] = {"form": form, "sources": sources, "rules_choices": [*RULES, "calibrated:0.01"],
                            "min_job_runs": p.min_runs}
    if rules not in RULES and not _is_preset(rules):
        return {"state": "bad-request", "message": f"rules={_short(rules)!r}: choose one of {', '.join(RULES)}",
                **head}
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
            raise InputError(f"source={_short(source)!r}: no such historical data file")
        return dash.historical[int(source)].historical()
    start, end = p.window()
    # Every row, whatever its run count: the matcher's own threshold decides, and the chain shows it.
    q = HistoryQuery(DISRUPTIONS, now=end, days=p.days, min_job_runs=0)
    with dash.warehouse() as wh:
        rows = historical_rows(wh, q)
    return historical_data(rows, f"warehouse disruptions {start:%Y-%m-%d} to {end:%Y-%m-%d}")


def _input_file(dash: Dashboard, p: Params, name: str) -> tuple[str, bytes] | None:
    """An uploaded file, or one of the configured historical files chosen by its name: never any other path."""
    if name in p.files:
        return p.files[name]
    chosen = p.text(name)
    if chosen is None:
        return None
    historical = dash.historical.by_name(chosen, name)
    return historical.name, historical.read()


# ---- the local bucket ------------------------------------------------------------------------------------------

BUCKET_PAGE = 500  # entries per page of a folder listing
RUN_DEPTH = 3  # logs/<job>/<run>: from here down a folder lists every file below it


def bucket_response(dash: Dashboard, request: Request, path: str) -> Response:
    """List a folder of a local bucket (paginated), or show one of its files as plain text (never as HTML).

    `/bucket.json/<path>` is the listing's twin. Paths with control characters or `..` are refused (400).
    """
    as_json = request.url.path.startswith("/bucket.json")
    if not is_local_bucket(dash.bucket_url):
        return dash.error(request, 404, "The bucket is on GCS; open runs through their prow links.")
    base = path.strip("/")
    parts = base.split("/") if base else []
    if any(not c.isprintable() for c in base) or any(part in ("", ".", "..") for part in parts) or len(base) > 1024:
        return dash.error(request, 400, "Not a bucket path: use the folder links, without '..' or control "
                                        "characters.")
    after = (request.query_params.get("after") or "").strip()
    try:
        bucket = open_bucket(dash.bucket_url)
        if len(parts) < RUN_DEPTH:
            entries = [f"{d.rstrip('/')}/" for d in bucket.list_dirs(base, after or None)]
            files: list[str] = []
            if not entries and not after:
                files = [f for f in bucket.list_files(base) if "/" not in f.removeprefix(f"{base}/" if base else "")]
        else:
            entries = []
            files = [f for f in bucket.list_files(base) if not after or f.removeprefix(f"{base}/") > after]
        body = b"" if entries or files or after else bucket.read(base)
    except JraError:
        return dash.error(request, 404, "Not in the bucket folder.")
    except (OSError, ValueError):
        return dash.error(request, 404, "Not in the bucket folder.")
    if entries or files or after or not base:
        names = entries + [f.removeprefix(f"{base}/" if base else "").removeprefix("./") for f in files]
        page, more = names[:BUCKET_PAGE], len(names) > BUCKET_PAGE
        prefix = f"/bucket/{quote(base)}/" if base else "/bucket/"
        listing = [{"name": n, "href": prefix + quote(n)} for n in page]
        up = "/bucket/" + quote("/".join(parts[:-1])) + ("/" if len(parts) > 1 else "") if parts else None
        data: dict[str, Any] = {
            "state": "ok", "message": "", "path": base or "/", "files": listing, "up": up,
            "next": (prefix + "?" + urlencode({"after": page[-1].rstrip("/")})) if more else None,
            "after": after, "back": _local_link(request.query_params.get("back")),
        }
        data = dash.stamp(data)
        if as_json:
            return JSONResponse(data)
        return dash.render("bucket", page="bucket", title="Bucket folder", data=data,
                           json_url="/bucket.json/" + quote(base) + (f"?{request.url.query}" if request.url.query
                                                                     else ""),
                           nav=dash.nav(request.query_params))
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
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"now={_short(text)!r} is not an ISO date-time like 2024-06-01T12:00:00Z") from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        moment = EARLIEST_NOW - timedelta(days=1)  # a year-1 time with an offset: out of range below
    if not EARLIEST_NOW <= moment <= LATEST_NOW:
        raise InputError(f"now={_short(text)!r} is out of range ({EARLIEST_NOW:%Y-%m-%d} to {LATEST_NOW:%Y-%m-%d})")
    return moment.replace(microsecond=0)


def _integer(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = (values.get(name) or "").strip()
    if not text:
        return default
    try:
        value = int(text) if len(text) <= 20 else int("x")
    except ValueError:
        raise InputError(f"{name}={_short(text)!r} is not a whole number") from None
    if not low <= value <= high:
        raise InputError(f"{name}={value} is out of range ({low} to {high})")
    return value


def _number(values: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    text = (values.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text) if len(text) <= 40 else float("x")
    except ValueError:
        raise InputError(f"{name}={_short(text)!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{name}={_short(text)!r} is out of range ({low:g} to {high:g})")
    return value


def _short(text: str, limit: int = 60) -> str:
    """A request value for a message: printable and bounded."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


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


def _is_preset(rules: str) -> bool:
    from job_run_aggregator.errors import ConfigError
    from job_run_aggregator.matching.presets import preset_for

    try:
        preset_for(rules)
    except ConfigError:
        return False
    return True


# ---- one run's disruption of one backend ------------------------------------------------------------------------

MAX_RUN_FILES = 50  # backend-disruption files read per run (an upgrade run has one per phase)


def run_page(dash: Dashboard, p: Params) -> dict[str, Any]:
    """One run's backend-disruption files for one backend: each file's duration and DisruptionMessages."""
    job, run, backend = p.text("job"), p.text("run"), p.text("backend")
    if not job or not run or not backend:
        raise InputError("give job, run and backend: open a run from a cell's drill-down")
    for name, value in (("job", job), ("run", run)):
        if "/" in value or value in (".", "..") or not value.isprintable() or len(value) > 512:
            raise InputError(f"{name}={_short(value)!r} is not a job or run name")
    # The page has no window: its address is already permanent.
    head = {"job": job, "run": run, "backend": backend, "back": _local_link(p.values.get("back")),
            "links": pages.run_links(dash.bucket_url, job, run), "permalink": None}
    if not is_local_bucket(dash.bucket_url):
        return {"state": "no-data", **head, "files": [], "messages": [],
                "message": "The bucket is on GCS: prow's view of the run shows its artifacts."}
    folder = f"logs/{job}/{run}"
    try:
        bucket = open_bucket(dash.bucket_url)
        paths = [f for f in bucket.list_files(folder) if is_disruption_path(f)][:MAX_RUN_FILES]
    except JraError:
        raise InputError("the run's folder is not in the bucket") from None
    files: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for path in paths:
        short = path.removeprefix(f"{folder}/").removeprefix("./")
        try:
            entry = _backend_entry(bucket.read(path), backend)
        except (JraError, ValueError) as exc:
            files.append({"file": short, "found": False, "DisruptedDuration": None, "ConnectionType": None,
                          "messages": 0, "problem": str(exc) if isinstance(exc, InputError) else "not readable"})
            continue
        if entry is None:
            files.append({"file": short, "found": False, "DisruptedDuration": None, "ConnectionType": None,
                          "messages": 0, "problem": "this backend is not in the file"})
            continue
        texts = [str(m) for m in (entry.get("DisruptionMessages") or []) if isinstance(m, (str, int, float))]
        files.append({"file": short, "found": True, "DisruptedDuration": str(entry.get("DisruptedDuration", "")),
                      "ConnectionType": str(entry.get("ConnectionType", "")), "messages": len(texts),
                      "problem": ""})
        messages += [{"file": short, "message": text} for text in texts]
    found = any(f["found"] for f in files)
    return {
        "state": "ok" if found else "no-data",
        "message": "" if found else f"No backend-disruption file of this run lists {backend}.",
        **head, "files": files, "messages": messages,
    }


def _backend_entry(data: bytes, backend: str) -> Mapping[str, Any] | None:
    document = orjson.loads(data)  # C parser, bounded depth; ValueError on bad JSON
    entries = document.get("BackendDisruptions") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        return None
    entry = entries.get(backend)
    if not isinstance(entry, dict):
        entry = next((e for e in entries.values() if isinstance(e, dict) and e.get("Name") == backend), None)
    return entry
