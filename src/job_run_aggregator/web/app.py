"""`serve`: a read-only dashboard over the warehouse. Every page has a `.json` twin and a `.csv` of each table.

Pages (the route table is `PAGES`; a new page is one `Page(...)` entry plus its view and template): overview heat
map (`/`, `/overview`), backend trend (`/trend`), cell drill-down (`/cell`), compare two query_results.json files
(`/compare`), match explainer (`/match`), regressions (`/regressions`), backtest (`/backtest`), and a viewer of a
local bucket's folders (`/bucket/...`).

Where the data comes from: for a DuckDB file, a private copy refreshed whenever no writer holds the file
(web/snapshot.py), so pages never wait on a writer and writers never wait on pages; otherwise the warehouse
itself, opened per request.

Outcomes, the same for a page and its twins: data (200); an empty state — no tables, no data in the window, no
query yet (200, `state` says which); a bad parameter or input file (400, a plain message); the warehouse
unavailable (503 with Retry-After, no paths or process ids); a bug (500, logged with its traceback, never shown).
Every view runs in a worker thread, and uploads are parsed there too, so no request blocks another.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from job_run_aggregator.errors import InputError, JraError, TableMissing
from job_run_aggregator.warehouse.base import Warehouse
from job_run_aggregator.web import pages, views
from job_run_aggregator.web import regressions as regressions_view
from job_run_aggregator.web import tables as csv_tables
from job_run_aggregator.web.backtest_view import backtest_view
from job_run_aggregator.web.historical import HistoricalFiles
from job_run_aggregator.web.snapshot import DataStatus, SnapshotStore, data_age_note
from job_run_aggregator.web.views import Params

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# An uploaded query_results.json is a few MB at most (origin's largest is ~3 MB); the whole request is refused
# above this, before its body is read.
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
# Uploads and compares parse and render large inputs: at most this many at once, so they cannot take every
# worker thread from the other pages.
HEAVY_AT_ONCE = 2
RETRY_AFTER_SECONDS = "5"
CACHED_PAGES = 128  # computed pages kept per snapshot of the data (LRU)
WARMED_PAGES = 8  # the most recently requested pages, recomputed as soon as new data is copied
SECURITY_HEADERS = {
    # Scripts and styles only from the package: no CDN, no inline script; data reaches charts as JSON blocks.
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
STATUS = {"ok": 200, "no-tables": 200, "no-data": 200, "no-query": 200, "bad-request": 400,
          "unavailable": 503, "error": 500}
View = Callable[["Dashboard", Params], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Page:
    """One dashboard page: its path (also `<path>.json` and `<path>.csv`), view, title and template."""

    name: str
    path: str
    view: View
    title: str
    nav: str | None = None  # label in the header's navigation, if listed there
    form_page: bool = False  # shows its own form above an error (instead of the error page)
    # The view reads only the warehouse and its parameters: its result is kept per snapshot of the data.
    cacheable: bool = False
    # The query parameters its navigation link carries on from the current page (None: now, days, min_runs).
    nav_keeps: tuple[str, ...] | None = None
    # Recomputed by the refresher on each new copy of the data when recently requested (a cacheable page only).
    warmed: bool = True


PAGES: tuple[Page, ...] = (
    Page("overview", "/overview", views.overview_page, "Disruption overview", nav="Overview", cacheable=True),
    Page("trend", "/trend", views.trend_page, "Disruption trend", cacheable=True),
    Page("cell", "/cell", views.cell_page, "Cell drill-down", cacheable=True),
    Page("run", "/run", views.run_page, "Run disruption"),
    Page("compare", "/compare", views.compare_page, "Compare historical data", nav="Compare", form_page=True),
    Page("match", "/match", views.match_page, "Match explainer", nav="Match explainer", form_page=True),
    # Its days and min_runs mean other things (default 42 days; runs per series): only the window's end carries on.
    Page("regressions", "/regressions", regressions_view.regressions_page, "Regressions", nav="Regressions",
         cacheable=True, nav_keeps=("now",)),
    # A backtest takes seconds to tens of seconds: kept per copy of the data, but not recomputed in the background.
    Page("backtest", "/backtest", backtest_view, "Backtest", cacheable=True, warmed=False),
)


class SecurityHeaders:
    """Add SECURITY_HEADERS to every response (pages, JSON, static files, errors) unless already set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Dashboard:
    """The state the views share: how to open the warehouse, the bucket, the historical files, the defaults."""

    def __init__(self, warehouse_factory: Callable[[], Warehouse], bucket_url: str, historical: HistoricalFiles,
                 min_job_runs: int, days: int, snapshots: SnapshotStore | None = None,
                 page_list: Sequence[Page] = PAGES, clock: Callable[[], datetime] | None = None) -> None:
        self.warehouse_factory = warehouse_factory
        self.bucket_url = bucket_url
        self.historical = historical
        self.min_job_runs = min_job_runs
        self.days = days
        self.snapshots = snapshots
        self.clock = clock or (lambda: datetime.now(UTC))
        self.pages = {p.name: p for p in page_list}
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._responses: OrderedDict[tuple[Any, ...], tuple[bytes, dict[str, str]]] = OrderedDict()
        self._recent: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], None] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.templates = Environment(
            loader=PackageLoader("job_run_aggregator.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["seconds"] = pages.format_seconds
        self.templates.globals["legend"] = pages.heat_legend()

    @contextmanager
    def warehouse(self) -> Iterator[Warehouse]:
        wh = self.snapshots.open() if self.snapshots is not None else self.warehouse_factory()
        try:
            yield wh
        finally:
            wh.close()

    def data_status(self) -> DataStatus | None:
        return None if self.snapshots is None else self.snapshots.data_status()

    def params(self, request: Request, form: Mapping[str, Any] | None = None) -> Params:
        return Params.parse(request.query_params, form or {}, self.min_job_runs, self.days, self.clock())

    def nav(self, query: Mapping[str, str]) -> list[dict[str, str]]:
        kept = views.kept_query(query)

        def carried(p: Page) -> str:
            if p.name == "compare":
                return ""
            if p.nav_keeps is not None:
                return views.query_string({k: query[k] for k in p.nav_keeps if query.get(k)})
            return kept

        return [{"name": p.name, "label": p.nav, "href": p.path + carried(p)} for p in self.pages.values() if p.nav]

    def build(self, page: Page, params_of: Callable[[], Params]) -> dict[str, Any]:
        """Run a view, turning every failure into a page state; never raises."""
        try:
            params = params_of()
            key = self._cache_key(page, params)
            if key is not None:
                with self._cache_lock:
                    hit = self._cache.get(key)
                    if hit is not None:
                        self._cache.move_to_end(key)
                        return dict(hit)
            data = page.view(self, params)
            data.setdefault("permalink", params.permalink(page.path))
            data["computed_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            if key is not None and data.get("state", "ok") in ("ok", "no-data"):
                with self._cache_lock:
                    self._cache[key] = data
                    while len(self._cache) > CACHED_PAGES:
                        self._cache.popitem(last=False)
                return dict(data)
        except TableMissing:
            return {"state": "no-tables", "message": "No data tables yet. Load data first: job-run-aggregator demo, "
                    "or create-tables, prime-job-table and upload-all."}
        except InputError as exc:
            return {"state": "bad-request", "message": str(exc)}
        except JraError as exc:  # logged in full; the page says what happened without paths or process ids
            log.warning("%s page: warehouse unavailable: %s", page.name, exc)
            return {"state": "unavailable", "message": "The warehouse is unavailable right now "
                    f"({type(exc).__name__}); try again in a few seconds."}
        except Exception as exc:  # a bug: log it with its traceback, show no internals
            log.exception("%s page failed", page.name)
            return {"state": "error", "message": f"Internal error ({type(exc).__name__}); see the server log."}
        return data

    def _cache_key(self, page: Page, params: Params) -> tuple[Any, ...] | None:
        """Pages computed from one snapshot with the same parameters and window are the same page."""
        version = self.snapshots.version if self.snapshots is not None and page.cacheable else None
        if version is None or params.files:
            return None
        return page.name, version, params.end, tuple(sorted(params.values.items()))

    def stamp(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add what every page states: when it was computed and how old its data is."""
        data.setdefault("state", "ok")
        data.setdefault("message", "")
        status = self.data_status()
        data.setdefault("computed_at", datetime.now(UTC).isoformat(timespec="seconds"))
        data["data_status"] = status.to_json() if status else None
        return data

    def page_response(self, request: Request, page: Page) -> Response:
        """A GET of a page or twin; repeated requests for one snapshot, window and query reuse the response."""
        try:
            params = self.params(request)
        except InputError:
            params = None
        key = None if params is None else self._cache_key(page, params)
        if key is not None:
            status = self.data_status()
            key = (*key, request.url.path, request.query_params.get("table"),
                   tuple(sorted(status.to_json().items())) if status else None)
            with self._cache_lock:
                hit = self._responses.get(key)
                if hit is not None:
                    self._responses.move_to_end(key)
            if hit is not None:
                return Response(hit[0], status_code=200, headers=hit[1])
        response = self.respond(request, page, self.build(page, lambda: params or self.params(request)))
        if key is not None and response.status_code == 200:
            self._remember(page, request)
            headers = {k: v for k, v in response.headers.items() if k != "content-length"}
            with self._cache_lock:
                self._responses[key] = (bytes(response.body), headers)
                while len(self._responses) > CACHED_PAGES:
                    self._responses.popitem(last=False)
        return response

    def _remember(self, page: Page, request: Request) -> None:
        query = tuple(sorted((k, v) for k, v in request.query_params.items() if k != "table"))
        with self._cache_lock:
            self._recent[(page.name, query)] = None
            self._recent.move_to_end((page.name, query))
            while len(self._recent) > WARMED_PAGES:
                self._recent.popitem(last=False)

    def warm(self) -> None:
        """Compute the recently requested pages on a new copy of the data, before anyone asks again."""
        with self._cache_lock:
            recent = list(self._recent)
        for name, query in reversed(recent):  # the most recent first
            page = self.pages.get(name)
            if page is None or not page.warmed:
                continue
            try:
                params = Params.parse(dict(query), {}, self.min_job_runs, self.days, self.clock())
            except InputError:
                continue
            self.build(page, functools.partial(_same, params))

    def respond(self, request: Request, page: Page, data: dict[str, Any]) -> Response:
        self.stamp(data)
        if request.method == "POST":
            data.pop("permalink", None)
        status = STATUS[data["state"]]
        headers = {"retry-after": RETRY_AFTER_SECONDS} if status == 503 else None
        path = request.url.path
        if path.endswith(".json"):
            return JSONResponse(data, status_code=status, headers=headers)
        if path.endswith(".csv"):
            return csv_tables.csv_response(page.name, data, request.query_params.get("table"), status)
        shows_data = data["state"] in ("ok", "no-data", "no-query") or page.form_page
        base = page.path
        query = request.url.query if request.method == "GET" else ""
        if request.method == "POST":
            # An upload is not kept: its twins would be empty. The page offers its own data for saving instead.
            data["uploaded"] = True
            return self.render(page.name if shows_data else "error", status, headers=headers, page=page.name,
                               title=page.title, data=data, json_url=None, nav=self.nav(request.query_params))
        return self.render(
            page.name if shows_data else "error", status, headers=headers, page=page.name, title=page.title,
            data=data, json_url=base + ".json" + (f"?{query}" if query else ""),
            csv_url=base + ".csv" + (f"?{query}" if query else ""),
            tables=csv_tables.table_names(page.name, data),
            grid=pages.heat_grid(data) if page.name == "overview" and data.get("cells") else [],
            nav=self.nav(request.query_params),
        )

    def render(self, template: str, status: int = 200, headers: Mapping[str, str] | None = None,
               **context: Any) -> HTMLResponse:
        status_info = self.data_status()
        context.setdefault("age_note", data_age_note(status_info) if status_info else "")
        context.setdefault("csv_url", None)
        context.setdefault("tables", [])
        return HTMLResponse(self.templates.get_template(f"{template}.html").render(**context), status_code=status,
                            headers=dict(headers or {}))

    def error(self, request: Request, status: int, message: str) -> Response:
        """An error as the page or JSON the request asked for: the message, never a traceback."""
        data = {"state": "error", "message": message}
        if request.url.path.endswith(".json") or request.url.path.startswith("/bucket.json"):
            return JSONResponse(data, status_code=status)
        return self.render("error", status, page="error", title=f"Error {status}", data=data, json_url=None,
                           nav=self.nav(request.query_params))


def create_app(
    warehouse_factory: Callable[[], Warehouse],
    bucket_url: str,
    historical_files: Sequence[str | Path] = (),
    *,
    min_job_runs: int = 100,
    days: int = 21,
    allowed_hosts: Sequence[str] | None = None,
    snapshots: SnapshotStore | None = None,
    page_list: Sequence[Page] = PAGES,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """Build the dashboard app.

    Args:
        warehouse_factory: opens a read-only warehouse; called once per request, closed after it (unused when
            `snapshots` is given).
        bucket_url: the configured bucket (a folder or gs://BUCKET), for links to runs.
        historical_files: query_results.json files the match explainer and compare page offer, by file name (the
            compare page reads no other server file).
        min_job_runs: heat-map cells with fewer runs are marked; also the matcher's threshold.
        days: the default window.
        allowed_hosts: Host headers accepted (a DNS-rebinding guard when bound to loopback); None accepts any.
        snapshots: serve a DuckDB warehouse from private copies (started and stopped with the app).
        page_list: the pages; PAGES plus any added ones.
        clock: the time a window without `now` ends at (tests move it); default the system clock.

    Raises:
        InputError: a historical file cannot be read or parsed.
    """
    historical = HistoricalFiles.load(historical_files)
    dash = Dashboard(warehouse_factory, bucket_url, historical, min_job_runs, days, snapshots, page_list, clock)
    if snapshots is not None:
        snapshots.listeners.append(dash.warm)
    heavy = anyio.CapacityLimiter(HEAVY_AT_ONCE)

    def get_endpoint(page: Page) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            limiter = heavy if page.name == "compare" else None

            def work() -> Response:
                return dash.page_response(request, page)

            return await run_in_threadpool(work) if limiter is None else await anyio.to_thread.run_sync(
                work, limiter=limiter)

        return endpoint

    async def compare_upload(request: Request) -> Response:
        page = dash.pages["compare"]
        try:
            form = await read_upload(request)
        except InputError as exc:
            return await run_in_threadpool(dash.respond, request, page,
                                           {"state": "bad-request", "message": str(exc), "form": {}})

        def work() -> Response:
            return dash.respond(request, page, dash.build(page, lambda: dash.params(request, form)))

        return await anyio.to_thread.run_sync(work, limiter=heavy)

    async def bucket(request: Request) -> Response:
        return await run_in_threadpool(views.bucket_response, dash, request, request.path_params.get("path", ""))

    async def overview_root(request: Request) -> Response:
        return await get_endpoint(dash.pages["overview"])(request)

    def favicon(request: Request) -> Response:
        return Response((STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                        headers={"cache-control": "max-age=86400"})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Internal error; see the server log."
        if status >= 500:
            log.error("request %s failed", request.url.path, exc_info=exc)
        return dash.error(request, status, str(detail))

    routes: list[Any] = [Route("/", overview_root, methods=["GET"])]
    for page in dash.pages.values():
        endpoint = get_endpoint(page)
        for suffix in ("", ".json", ".csv"):
            routes.append(Route(page.path + suffix, endpoint, methods=["GET"]))
    routes += [
        Route("/compare", compare_upload, methods=["POST"]),
        Route("/compare.json", compare_upload, methods=["POST"]),
        Route("/compare.csv", compare_upload, methods=["POST"]),
        Route("/bucket", bucket, methods=["GET"]),
        Route("/bucket/{path:path}", bucket, methods=["GET"]),
        Route("/bucket.json", bucket, methods=["GET"]),
        Route("/bucket.json/{path:path}", bucket, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if snapshots is not None:
            await run_in_threadpool(snapshots.start)
        try:
            yield
        finally:
            if snapshots is not None:
                await run_in_threadpool(snapshots.stop)

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: http_error})
    app.state.dashboard = dash
    return app


def _same(params: Params) -> Params:
    return params


async def read_upload(request: Request) -> dict[str, Any]:
    """The compare form, bounded: refused above MAX_UPLOAD_BYTES before parsing, parsed in a worker thread.

    Uploaded files become (filename, bytes) under `<field>_file`; other fields stay text.
    """
    limit_mb = MAX_UPLOAD_BYTES // 2**20
    too_large = InputError(f"the upload is larger than {limit_mb} MB; query_results.json files are a few MB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES:
            raise too_large
    content_type = request.headers.get("content-type", "")
    return await run_in_threadpool(parse_form, bytes(body), content_type)


def parse_form(body: bytes, content_type: str) -> dict[str, Any]:
    """Parse a multipart or url-encoded form body (the synchronous parser of python-multipart)."""
    from python_multipart.multipart import create_form_parser

    out: dict[str, Any] = {}
    files = 0

    def on_field(field: Any) -> None:
        name = (field.field_name or b"").decode("utf-8", "replace")
        out[name] = (field.value or b"").decode("utf-8", "replace")

    def on_file(file: Any) -> None:
        nonlocal files
        files += 1
        name = (file.field_name or b"").decode("utf-8", "replace")
        file.file_object.seek(0)
        data = file.file_object.read()
        if data:
            label = (file.file_name or name.encode()).decode("utf-8", "replace")
            out[f"{name}_file"] = (views.clean_label(label), data)

    try:
        parser = create_form_parser({"Content-Type": content_type.encode("latin-1")}, on_field, on_file,
                                    config={"MAX_MEMORY_FILE_SIZE": MAX_UPLOAD_BYTES + 1})
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # noqa: BLE001  # malformed bodies raise parser-specific errors
        raise InputError(f"upload not understood ({type(exc).__name__}); send a multipart form") from None
    if files > 2 or len(out) > 20:
        raise InputError("too many form fields; send at most the current and new files and the leeway")
    return out

