"""The backtest page (`/backtest`, twin `/backtest.json`): the rule sets' false-failure and detection rates over a
period of the warehouse, with their 95 % intervals and the per-variant and per-backend breakdowns (issue 22)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from job_run_aggregator.backtest import DEFAULT_RULES, BacktestSpec, backtest, parse_plant
from job_run_aggregator.cli.options import parse_duration_option
from job_run_aggregator.errors import ConfigError, InputError

if TYPE_CHECKING:
    from job_run_aggregator.web.app import Dashboard

TITLE = "Backtest"
MAX_STEPS = 60  # a page request stays bounded: at most 60 steps (over a year of weekly steps)


def _moment(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name}={text!r}: give a date or time, e.g. 2026-11-01 or 2026-11-01T12:00:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def spec_from_query(query: Mapping[str, str], min_job_runs: int, now: datetime | None = None) -> BacktestSpec:
    """The page's parameters (`to`, `from`, `step`, `window`, `rules`, `plant`, `seed`, `data_type`) as a spec.

    Defaults: the four weeks before `to` (default now), weekly steps, every preset and calibrated:0.01.

    Raises:
        InputError: a parameter that does not parse or an impossible combination (shown as a 400).
    """
    try:
        end = _moment(query.get("to"), "to") or (now or datetime.now(UTC)).replace(microsecond=0)
        start = _moment(query.get("from"), "from") or end - timedelta(days=28)
        step = parse_duration_option(query.get("step") or "7d")
        window = parse_duration_option(query["window"]) if query.get("window") else None
        seconds, share = parse_plant(query.get("plant"))
        seed = int(query.get("seed") or 1)
        rules = tuple(r.strip() for r in (query.get("rules") or ",".join(DEFAULT_RULES)).split(",") if r.strip())
        spec = BacktestSpec(start, end, data_type=query.get("data_type") or "disruptions", rules=rules, step=step,
                            window=window, plant_seconds=seconds, plant_share=share, seed=seed,
                            min_job_runs=int(query.get("min_job_runs") or min_job_runs))
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    except ValueError as exc:
        raise InputError(f"a number did not parse ({exc})") from None
    if len(spec.step_starts()) > MAX_STEPS:
        raise InputError(f"{len(spec.step_starts())} steps: at most {MAX_STEPS} per page; use a longer step")
    return spec


def backtest_page(dash: Dashboard, query: Mapping[str, str]) -> dict[str, Any]:
    """The page's data: the backtest report plus the form's values."""
    spec = spec_from_query(query, dash.min_job_runs)
    with dash.warehouse() as wh:
        report = backtest(wh, spec).to_json()
    judged = sum(r["Judged"] for r in report["RuleSets"])
    form = {"from": report["From"][:10], "to": report["To"][:10], "step": query.get("step") or "7d",
            "rules": ",".join(spec.rules), "plant": query.get("plant") or "", "seed": spec.seed}
    state = "ok" if judged else "no-data"
    message = "" if judged else "No run in the period could be judged: is there history before it?"
    return {"state": state, "message": message, "form": form, **report}


def backtest_routes(dash: Dashboard) -> list[Route]:
    """`/backtest` and its twin `/backtest.json`."""

    def endpoint(request: Request) -> Response:
        # The shared Params are not used: the page has its own parameters (spec_from_query).
        data = dash.build("backtest", lambda d, _: backtest_page(d, request.query_params),
                          lambda: dash.params(request))
        return dash.respond(request, "backtest", data)

    return [Route("/backtest", endpoint, methods=["GET"]), Route("/backtest.json", endpoint, methods=["GET"])]
