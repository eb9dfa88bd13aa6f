"""Backtest verdict rule sets on a warehouse's own history (issue 22).

For every step date d: the historical data of the window before d, built exactly as `export-historical-data`
builds it (same SQL, rendered to query_results.json and read back, so the millisecond rounding is origin's); then
every run started in [d, d + step) is judged exactly as `check-run` judges it (JobType from the job name, the same
matcher and arithmetic), under each rule set. `--plant SECONDS:SHARE` adds SECONDS to a deterministic SHARE of the
(run, name) pairs before judging, the same pairs under every rule set, to measure detection.

The false-failure rate counts failures among unplanted pairs: it treats the history as healthy, which is the
backtest's premise (a real regression inside the history is counted as a false failure too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from job_run_aggregator.artifacts.parse.alerts import AlertKey
from job_run_aggregator.backtest.stats import is_planted
from job_run_aggregator.backtest.tally import RuleSetTally
from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS, HistoryQuery, historical_rows
from job_run_aggregator.history.results_file import render_query_results
from job_run_aggregator.matching.calibrated import (
    allowances_for,
    is_calibrated,
    read_tails,
    step_seconds_of,
    target_of,
)
from job_run_aggregator.matching.keys import ALERT, BACKEND, DataKey, JobType, job_type_for
from job_run_aggregator.matching.matcher import HistoricalData, load_historical
from job_run_aggregator.matching.presets import preset_for
from job_run_aggregator.matching.verdicts import judge_run
from job_run_aggregator.warehouse.base import Warehouse

DEFAULT_RULES = ("2022", "2023", "current", "calibrated:0.01")

# The runs to judge: one row per (run, backend) or (run, alert name, namespace, level), BigQuery dialect.
_RUNS_SQL = {
    DISRUPTIONS: """SELECT d.JobRunName, d.JobName, d.BackendName AS Name, '' AS Namespace, '' AS Level,
  d.DisruptionSeconds AS Seconds
FROM BackendDisruption AS d
WHERE d.JobRunStartTime >= @start AND d.JobRunStartTime < @end
ORDER BY d.JobRunName, d.BackendName""",
    ALERTS: """SELECT a.JobRunName, a.JobName, a.Name, a.Namespace, a.Level, a.AlertSeconds AS Seconds
FROM Alerts AS a
WHERE a.JobRunStartTime >= @start AND a.JobRunStartTime < @end
ORDER BY a.JobRunName, a.Name, a.Namespace, a.Level""",
}


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """What to backtest: the period [start, end) in steps, the history window, the rule sets, the planting."""

    start: datetime
    end: datetime
    data_type: str = DISRUPTIONS
    rules: tuple[str, ...] = DEFAULT_RULES
    step: timedelta = timedelta(days=7)
    window: timedelta | None = None  # default: the export's (21 days for disruptions, 7 for alerts)
    plant_seconds: float = 0.0
    plant_share: float = 0.0
    seed: int = 1
    min_job_runs: int = 100  # the matcher's threshold, and for disruptions the export's HAVING

    def __post_init__(self) -> None:
        if self.data_type not in (DISRUPTIONS, ALERTS):
            raise ConfigError(f"--data-type {self.data_type!r}: choose disruptions or alerts")
        if not self.start < self.end:
            raise ConfigError(f"--from {self.start:%Y-%m-%dT%H:%M:%SZ} must be before "
                              f"--to {self.end:%Y-%m-%dT%H:%M:%SZ}")
        if self.step <= timedelta(0):
            raise ConfigError("--step must be positive")
        if self.window is not None and (self.window.total_seconds() % 86_400 or self.window < timedelta(days=1)):
            raise ConfigError("--window must be a whole number of days, at least 1d")
        if not 0 <= self.plant_share <= 1 or self.plant_seconds < 0:
            raise ConfigError("--plant SECONDS:SHARE needs SECONDS ≥ 0 and SHARE between 0 and 1")
        if not self.rules:
            raise ConfigError("--rules: give at least one rule set")
        for rules in self.rules:
            preset_for(rules)

    @property
    def window_days(self) -> int | None:
        return None if self.window is None else int(self.window.total_seconds() // 86_400)

    def step_starts(self) -> list[datetime]:
        starts, d = [], self.start
        while d < self.end:
            starts.append(d)
            d += self.step
        return starts


@dataclass(frozen=True, slots=True)
class StepSummary:
    """One step: its judged period, the history rows it matched against, the runs and pairs it judged."""

    start: datetime
    end: datetime
    history_rows: int
    runs: int
    pairs: int
    unjudgeable_runs: int  # job names without a known release: no JobType, as check-run would refuse

    def to_json(self) -> dict[str, Any]:
        return {"Start": _iso(self.start), "End": _iso(self.end), "HistoryRows": self.history_rows,
                "Runs": self.runs, "Pairs": self.pairs, "UnjudgeableRuns": self.unjudgeable_runs}


@dataclass(slots=True)
class BacktestReport:
    """Per rule set tallies and per step summaries."""

    spec: BacktestSpec
    rule_sets: list[RuleSetTally]
    steps: list[StepSummary] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "RuleSets": [r.to_json() for r in self.rule_sets],
            "Steps": [s.to_json() for s in self.steps],
            "DataType": spec.data_type,
            "From": _iso(spec.start),
            "To": _iso(spec.end),
            "StepDays": spec.step.total_seconds() / 86_400,
            "WindowDays": spec.window_days,
            "Plant": {"Seconds": spec.plant_seconds, "Share": spec.plant_share, "Seed": spec.seed},
            "MinJobRuns": spec.min_job_runs,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Observed = dict[str, dict[AlertKey, float]]  # run id → (name, namespace, level) → seconds


def read_observed(
    warehouse: Warehouse, data_type: str, start: datetime, end: datetime,
) -> tuple[Observed, dict[str, str]]:
    """Every run started in [start, end) with its seconds per name, and its job name."""
    observed: Observed = {}
    jobs: dict[str, str] = {}
    for row in warehouse.query(_RUNS_SQL[data_type], {"start": start, "end": end}):
        run = str(row["JobRunName"])
        jobs[run] = str(row["JobName"])
        scope = AlertKey(str(row["Name"]), str(row["Namespace"] or ""), str(row["Level"] or ""))
        observed.setdefault(run, {})[scope] = float(row["Seconds"])
    return observed, jobs


def history_at(warehouse: Warehouse, spec: BacktestSpec, moment: datetime) -> tuple[HistoryQuery, HistoricalData]:
    """The historical data `export-historical-data --now moment` would write (every release), read back."""
    # The export's HAVING: --min-job-runs for disruptions; alert history keeps the export's default (no minimum).
    minimum = spec.min_job_runs if spec.data_type == DISRUPTIONS else None
    q = HistoryQuery(data_type=spec.data_type, now=moment, days=spec.window_days, min_job_runs=minimum)
    rows = historical_rows(warehouse, q)
    kind = BACKEND if spec.data_type == DISRUPTIONS else ALERT
    return q, load_historical(render_query_results(rows), f"history before {_iso(moment)}", kind)


def backtest(
    warehouse: Warehouse, spec: BacktestSpec, on_step: Callable[[StepSummary], None] = lambda step: None
) -> BacktestReport:
    """Run the backtest of `spec` on `warehouse`."""
    tallies = {rules: RuleSetTally(rules) for rules in spec.rules}
    report = BacktestReport(spec, list(tallies.values()))
    job_types: dict[str, JobType | None] = {}
    for start in spec.step_starts():
        end = min(start + spec.step, spec.end)
        q, data = history_at(warehouse, spec, start)
        allowances: dict[str, Mapping[DataKey, float]] = {}
        calibrated = [r for r in spec.rules if is_calibrated(r)]
        if calibrated:
            tails = read_tails(warehouse, q)
            allowances = {r: allowances_for(data, tails, target_of(r), seconds=step_seconds_of(r)) for r in calibrated}
        observed, jobs = read_observed(warehouse, spec.data_type, start, end)
        unjudgeable = pairs = 0
        for run_id in sorted(observed):
            job_type = _job_type(jobs[run_id], job_types)
            if job_type is None:
                unjudgeable += 1
                continue
            planted = {scope for scope in observed[run_id] if is_planted(spec.seed, run_id, scope[0], spec.plant_share)}
            values = {s: v + (spec.plant_seconds if s in planted else 0.0) for s, v in observed[run_id].items()}
            pairs += len(values)
            variant = job_type.short()
            for rules, tally in tallies.items():
                for verdict in _judge(values, job_type, data, spec, rules, allowances.get(rules)):
                    scope = (verdict.name, verdict.namespace, verdict.level)
                    tally.add(run_id, variant, verdict.name, verdict.status, scope in planted)
        summary = StepSummary(start, end, len(data.rows), len(observed) - unjudgeable, pairs, unjudgeable)
        report.steps.append(summary)
        on_step(summary)
    return report


def _judge(values: Mapping[AlertKey, float], job_type: JobType, data: HistoricalData,
           spec: BacktestSpec, rules: str, allowances: Mapping[DataKey, float] | None) -> Iterable[Any]:
    if spec.data_type == DISRUPTIONS:
        disruption = {name: seconds for (name, _, _), seconds in values.items()}
        return judge_run(disruption, None, job_type, data, None, rules, spec.min_job_runs, allowances)
    return judge_run({}, dict(values), job_type, None, data, rules, spec.min_job_runs, allowances)


def _job_type(job: str, cache: dict[str, JobType | None]) -> JobType | None:
    if job not in cache:
        try:
            cache[job] = job_type_for(job)
        except InputError:
            cache[job] = None
    return cache[job]


def parse_plant(text: str | None) -> tuple[float, float]:
    """`30:0.05` → (30.0, 0.05); None → no planting.

    Raises:
        ConfigError: not SECONDS:SHARE with SECONDS ≥ 0 and SHARE in [0, 1].
    """
    if not text:
        return 0.0, 0.0
    seconds, colon, share = text.partition(":")
    try:
        if not colon:
            raise ValueError
        value, fraction = float(seconds), float(Fraction(share))
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--plant {text!r}: give SECONDS:SHARE, e.g. 30:0.05") from None
    if value < 0 or not 0 <= fraction <= 1:
        raise ConfigError(f"--plant {text!r}: SECONDS must be ≥ 0 and SHARE between 0 and 1")
    return value, fraction
