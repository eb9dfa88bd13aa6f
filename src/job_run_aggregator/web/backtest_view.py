"""The backtest page (`/backtest`, twin `/backtest.json`): the rule sets' false-failure and detection rates over a
period of the warehouse, with their 95 % intervals and the per-variant and per-backend breakdowns (issue 22)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from job_run_aggregator.backtest import DEFAULT_RULES, BacktestSpec, backtest, parse_plant
from job_run_aggregator.cli.options import parse_duration_option
from job_run_aggregator.errors import ConfigError, InputError

if TYPE_CHECKING:
    from job_run_aggregator.web.app import Dashboard
    from job_run_aggregator.web.views import Params

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


def backtest_page(dash: Dashboard, query: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """The page's data: the backtest report plus the form's values; `to` defaults to `now` (default: the clock)."""
    spec = spec_from_query(query, dash.min_job_runs, now)
    with dash.warehouse() as wh:
        report = backtest(wh, spec).to_json()
    judged = sum(r["Judged"] for r in report["RuleSets"])
    form = {"from": report["From"][:10], "to": report["To"][:10], "step": query.get("step") or "7d",
            "rules": ",".join(spec.rules), "plant": query.get("plant") or "", "seed": spec.seed}
    state = "ok" if judged else "no-data"
    message = "" if judged else "No run in the period could be judged: is there history before it?"
    return {"state": state, "message": message, "form": form, **report}


def backtest_view(dash: Dashboard, p: Params) -> dict[str, Any]:
    """The page's entry in the dashboard's route table (web/app.py `PAGES`): `to` defaults to the window's end, so
    the permalink (the same URL with `now` fixed) shows the same numbers later."""
    return backtest_page(dash, p.values, now=p.end)
