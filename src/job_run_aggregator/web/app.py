"""`serve`: a read-only dashboard over the warehouse. Every page has a `.json` twin holding the same data.

Pages: overview heat map (`/`), backend trend (`/trend`), cell drill-down (`/cell`), compare two
query_results.json files (`/compare`), match explainer (`/match`), regressions (`/regressions`), and a viewer of a local bucket's run folders
(`/bucket/...`). The warehouse is opened per request and closed after it, so a DuckDB writer (one process at a
time) can still get in between page loads.

Outcomes, the same for a page and its twin: data (200); an empty state — no tables, no data in the window, no
query yet (200, `state` says which); a bad parameter or input file (400); the warehouse unavailable (503); a bug
(500, logged with its traceback, never shown).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
from job_run_aggregator.matching.matcher import HistoricalData, load_historical
from job_run_aggregator.warehouse.base import Warehouse
from job_run_aggregator.web import pages
from job_run_aggregator.web import regressions as regressions_view
from job_run_aggregator.web import views
from job_run_aggregator.web.backtest_view import backtest_routes
from job_run_aggregator.web.views import Params

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# An uploaded query_results.json is a few MB at most (origin's largest is ~3 MB).
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
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
TITLES = {"overview": "Disruption overview", "trend": "Backend trend", "cell": "Cell drill-down",
          "compare": "Compare historical data", "match": "Match explainer", "bucket": "Run folder",
          "backtest": "Backtest"}
TITLES["regressions"] = "Regressions"
# Pages whose template shows its own form above an error (the others show the error page).
FORM_PAGES = ("compare", "match")


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

    def __init__(self, warehouse_factory: Callable[[], Warehouse], bucket_url: str,
                 historical: Sequence[HistoricalData], min_job_runs: int, days: int) -> None:
        self.warehouse_factory = warehouse_factory
        self.bucket_url = bucket_url
        self.historical = tuple(historical)
        self.min_job_runs = min_job_runs
        self.days = days
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
        wh = self.warehouse_factory()
        try:
            yield wh
        finally:
            wh.close()

    def params(self, request: Request, form: Mapping[str, Any] | None = None) -> Params:
        return Params.parse(request.query_params, form or {}, self.min_job_runs, self.days)

    def build(self, name: str, view: Callable[[Dashboard, Params], dict[str, Any]],
              params_of: Callable[[], Params]) -> dict[str, Any]:
        """Run a view, turning every failure into a page state; never raises."""
        try:
            return view(self, params_of())
        except TableMissing as exc:
            return {"state": "no-tables", "message": f"No data tables yet ({exc}). Load data first: "
                    "job-run-aggregator demo, or create-tables then upload-all."}
        except InputError as exc:
            return {"state": "bad-request", "message": str(exc)}
        except JraError as exc:
            return {"state": "unavailable", "message": f"The warehouse is unavailable: {exc}"}
        except Exception as exc:  # a bug: log it with its traceback, show no internals
            log.exception("%s page failed", name)
            return {"state": "error", "message": f"Internal error ({type(exc).__name__}); see the server log."}

    def respond(self, request: Request, name: str, data: dict[str, Any]) -> Response:
        data.setdefault("state", "ok")
        data.setdefault("message", "")
        status = STATUS[data["state"]]
        if request.url.path.endswith(".json"):
            return JSONResponse(data, status_code=status)
        twin = ("/overview" if request.url.path == "/" else request.url.path) + ".json"
        query = request.url.query if request.method == "GET" else ""
        shows_data = data["state"] in ("ok", "no-data", "no-query") or name in FORM_PAGES
        return self.render(
            name if shows_data else "error", status, page=name, title=TITLES[name], data=data,
            json_url=twin + (f"?{query}" if query else ""), nav=views.nav_links(request.query_params),
            grid=pages.heat_grid(data) if name == "overview" and data.get("cells") else [],
        )

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.templates.get_template(f"{template}.html").render(**context), status_code=status)

    def error(self, request: Request, status: int, message: str) -> Response:
        """An error as the page or JSON the request asked for: the message, never a traceback."""
        data = {"state": "error", "message": message}
        if request.url.path.endswith(".json"):
            return JSONResponse(data, status_code=status)
        return self.render("error", status, page="error", title=f"Error {status}", data=data, json_url=None,
                           nav=views.nav_links(request.query_params))


def create_app(
    warehouse_factory: Callable[[], Warehouse],
    bucket_url: str,
    historical_files: Sequence[str | Path] = (),
    *,
    min_job_runs: int = 100,
    days: int = 21,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """Build the dashboard app.

    Args:
        warehouse_factory: opens a read-only warehouse; called once per request, closed after it.
        bucket_url: the configured bucket (a folder or gs://BUCKET), for links to runs.
        historical_files: query_results.json files the match explainer and compare page offer (else the
            warehouse's data).
        min_job_runs: heat-map cells with fewer runs are greyed; also the matcher's threshold.
        days: the default window.
        allowed_hosts: Host headers accepted (a DNS-rebinding guard when bound to loopback); None accepts any.

    Raises:
        InputError: a historical file cannot be read or parsed.
    """
    historical = [load_historical(_read(Path(p)), str(p)) for p in historical_files]
    dash = Dashboard(warehouse_factory, bucket_url, historical, min_job_runs, days)

    def twin(path: str, json_path: str, name: str, view: Callable[[Dashboard, Params], dict[str, Any]]) -> list[Route]:
        def endpoint(request: Request) -> Response:
            return dash.respond(request, name, dash.build(name, view, lambda: dash.params(request)))

        return [Route(path, endpoint, methods=["GET"]), Route(json_path, endpoint, methods=["GET"])]

    async def compare_upload(request: Request) -> Response:
        try:
            form = await _read_form(request)
        except InputError as exc:
            return dash.respond(request, "compare", {"state": "bad-request", "message": str(exc), "form": {}})
        data = await run_in_threadpool(dash.build, "compare", views.compare_page, lambda: dash.params(request, form))
        return dash.respond(request, "compare", data)

    def bucket(request: Request) -> Response:
        return views.bucket_response(dash, request, request.path_params["path"])

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Internal error; see the server log."
        if status >= 500:
            log.error("request %s failed", request.url.path, exc_info=exc)
        return dash.error(request, status, str(detail))

    routes = [
        *twin("/", "/overview.json", "overview", views.overview_page),
        *twin("/trend", "/trend.json", "trend", views.trend_page),
        *twin("/cell", "/cell.json", "cell", views.cell_page),
        *twin("/compare", "/compare.json", "compare", views.compare_page),
        Route("/compare", compare_upload, methods=["POST"]),
        Route("/compare.json", compare_upload, methods=["POST"]),
        *twin("/match", "/match.json", "match", views.match_page),
        *twin("/regressions", "/regressions.json", "regressions", regressions_view.regressions_page),
        Route("/bucket/{path:path}", bucket, methods=["GET"]),
        *backtest_routes(dash),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: http_error, Exception: http_error})
    app.state.dashboard = dash
    return app


async def _read_form(request: Request) -> dict[str, Any]:
    """The compare form: uploaded files become (filename, bytes) under `<field>_file`; other fields stay text."""
    try:
        form = await request.form(max_files=2, max_fields=20)
    except Exception as exc:  # malformed multipart bodies raise parser-specific errors
        raise InputError(f"upload not understood ({type(exc).__name__}); send a multipart form") from None
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out[key] = value
            continue
        data = await value.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise InputError(f"uploaded file {key} is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
        if data:
            out[f"{key}_file"] = (value.filename or key, data)
    return out


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=str(path)) from None
