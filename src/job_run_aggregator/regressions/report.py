"""Regressions (and improvements) over every series of a window: find them, order them, render them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from job_run_aggregator.history.percentiles import VARIANT
from job_run_aggregator.regressions.detect import ChangePoint, DetectOptions, detect
from job_run_aggregator.regressions.series import Run, SeriesKey, SeriesQuery, load_runs, load_series, seconds_of
from job_run_aggregator.warehouse.base import Warehouse


@dataclass(frozen=True, slots=True)
class Regression:
    """One significant change of one series, with the first run after it."""

    data_type: str
    key: SeriesKey
    change: ChangePoint
    first_run: Run

    @property
    def name(self) -> str:
        return self.key[0]

    @property
    def variant(self) -> dict[str, str]:
        return dict(zip(VARIANT, self.key[1:], strict=True))

    @property
    def is_regression(self) -> bool:
        return self.change.worse

    def as_json(self) -> dict[str, Any]:
        """The item of `regressions --json` and of the dashboard's JSON (ChangeTime: RFC 3339 UTC)."""
        return {
            "DataType": self.data_type,
            "Name": self.name,
            **self.variant,
            "Direction": "regression" if self.change.worse else "improvement",
            "ChangeTime": self.first_run.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Before": self.change.before.as_json(),
            "After": self.change.after.as_json(),
            "PValue": self.change.p_value,
            "Severity": self.change.severity,
            "FirstRun": {"JobName": self.first_run.job_name, "JobRunName": self.first_run.job_run_name,
                         "ReleaseTag": self.first_run.release_tag},
        }


@dataclass(frozen=True, slots=True)
class RegressionReport:
    """What one pass found: the items (worst first) and how many series were analysed."""

    query: SeriesQuery
    items: tuple[Regression, ...]
    series: int

    def as_json(self) -> list[dict[str, Any]]:
        return [r.as_json() for r in self.items]


def severity_order(items: Iterable[Regression]) -> list[Regression]:
    """Worst first: larger severity (seconds), then smaller p-value, then the key and time (a stable order)."""
    return sorted(items, key=lambda r: (-r.change.severity, r.change.p_value, r.key, r.first_run.start))


def find_regressions(warehouse: Warehouse, q: SeriesQuery, options: DetectOptions | None = None,
                     improvements: bool = False) -> RegressionReport:
    """Detect change points in every series of the window; keep regressions (and improvements if asked)."""
    options = options or DetectOptions(min_runs=q.min_runs)
    series = load_series(warehouse, q)
    flagged = [key for key, values in series if _wanted(detect(values, options), improvements)]
    items: list[Regression] = []
    for key, runs in load_runs(warehouse, q, flagged).items():
        for change in detect(seconds_of(runs), options):
            if change.worse or improvements:
                items.append(Regression(q.data_type, key, change, runs[change.index]))
    return RegressionReport(q, tuple(severity_order(items)), len(series))


def _wanted(changes: Sequence[ChangePoint], improvements: bool) -> bool:
    return any(c.worse or improvements for c in changes)


def render_table(report: RegressionReport) -> str:
    """A readable table, one line per item (worst first), or a sentence when there is none."""
    start, end = report.query.window
    head = (f"{report.query.data_type}: {report.series} series with ≥ {report.query.min_runs} runs, "
            f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    if not report.items:
        return f"{head}: no significant change.\n"
    lines = [f"{head}: {len(report.items)} change(s), worst first.", ""]
    header = ("", "name", "variant", "changed (UTC)", "before P50/P95", "after P50/P95", "runs b/a", "p-value",
              "first run after (job, run, release tag)")
    rows = [header]
    for r in report.items:
        c = r.change
        v = r.variant
        variant = (f"{v['Release']}{' from ' + v['FromRelease'] if v['FromRelease'] else ''} "
                   f"{v['Platform'] or '-'} {v['Architecture']} {v['Network']} {v['Topology']}")
        rows.append((
            "worse" if c.worse else "better", r.name, variant, f"{r.first_run.start:%Y-%m-%d %H:%M}",
            f"{c.before.p50:g}/{c.before.p95:.1f} s", f"{c.after.p50:g}/{c.after.p95:.1f} s",
            f"{c.before.runs}/{c.after.runs}", f"{c.p_value:.1e}",
            f"{r.first_run.job_name} {r.first_run.job_run_name} {r.first_run.release_tag or '-'}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"
