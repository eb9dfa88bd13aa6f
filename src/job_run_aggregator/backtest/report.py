"""The backtest as markdown: one row per rule set, then false-failure rates per variant and per name (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _rate(row: Mapping[str, Any], key: str) -> str:
    ci = row.get(f"{key}CI")
    if row.get(key) is None:
        return "–"
    return f"{_pct(row[key])} [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else _pct(row[key])


def render_markdown(report: Mapping[str, Any], top: int = 20) -> str:
    """Render `BacktestReport.to_json()` as markdown tables (rates with their 95 % Wilson intervals)."""
    rule_sets: Sequence[Mapping[str, Any]] = report["RuleSets"]
    steps = report["Steps"]
    lines = [
        f"Backtest of {report['DataType']} from {report['From']} to {report['To']}: {len(steps)} steps of "
        f"{report['StepDays']:g} days, history window {report['WindowDays'] or 'default'} days"
        + (f", planted +{report['Plant']['Seconds']:g}s on {100 * report['Plant']['Share']:g}% of pairs "
           f"(seed {report['Plant']['Seed']})" if report["Plant"]["Share"] else "") + ".",
        "",
        ("| rule set | runs | pairs judged | failed | skipped | coverage | false-failure rate [95% CI] | planted "
         "| detected | detection rate [95% CI] |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rule_sets:
        lines.append(
            f"| {r['Name']} | {r['Runs']} | {r['Judged']} | {r['Failed']} | {r['Skipped']} | {_pct(r['Coverage'])} "
            f"| {_rate(r, 'FalseFailureRate')} | {r['Planted']} | {r['Detected']} | {_rate(r, 'DetectionRate')} |"
        )
    for key, label in (("ByVariant", "Variant"), ("ByName", "Name")):
        names = sorted({row[label] for r in rule_sets for row in r[key]})
        by = {r["Name"]: {row[label]: row for row in r[key]} for r in rule_sets}
        judged = {n: max(by[r["Name"]].get(n, {}).get("Judged", 0) for r in rule_sets) for n in names}
        shown = sorted(names, key=lambda n: (-judged[n], n))[:top]
        lines += ["", f"False-failure rate by {label.lower()} ({len(shown)} of {len(names)}, most judged first):", "",
                  f"| {label.lower()} | pairs | " + " | ".join(r["Name"] for r in rule_sets) + " |",
                  "|---|---|" + "---|" * len(rule_sets)]
        for n in shown:
            cells = [_pct(by[r["Name"]].get(n, {}).get("FalseFailureRate")) for r in rule_sets]
            lines.append(f"| {n} | {judged[n]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
