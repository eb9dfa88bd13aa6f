"""Render the aggregated verdicts: `junit-aggregated.xml` for CI and a self-contained HTML page for people."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from job_run_aggregator.aggregation.checks import (
    FAILED,
    PASSED,
    SKIPPED,
    SUITE,
    CheckResult,
    RunSeconds,
    format_seconds,
)
from job_run_aggregator.junit_report import JunitCase, JunitSuite, render_junit_suites


def render_junit(results: Sequence[CheckResult]) -> bytes:
    """One `<testsuite>` per suite (the root when there is one suite), one `<testcase>` per check."""
    suites: dict[str, list[CheckResult]] = {}
    for result in results:
        suites.setdefault(result.suite, []).append(result)
    rendered = [JunitSuite(name, [_case(name, r) for r in cases], errors_and_time=True)
                for name, cases in suites.items()]
    return render_junit_suites(rendered or [JunitSuite(SUITE, [], errors_and_time=True)])


def _case(suite: str, result: CheckResult) -> JunitCase:
    if result.status == FAILED:
        return JunitCase(result.name, classname=suite, failure=result.message)
    if result.status == SKIPPED:
        return JunitCase(result.name, classname=suite, skipped=result.message)
    return JunitCase(result.name, classname=suite, output=result.message)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
h1{font-size:1.3rem;margin:0 0 .3rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
.meta{color:#57606a;margin:0 0 1rem}
table{border-collapse:collapse;margin:.4rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.8rem;font-weight:600;color:#fff}
.failed{background:#cf222e}.passed{background:#1a7f37}.skipped{background:#6e7781}.not-judged{background:#9a6700}
section{border-top:1px solid #d0d7de;margin-top:1rem}
svg{display:block;margin:.4rem 0}svg text{font-size:10px;fill:#57606a}
"""

_LINE_COLOURS = {"mean": "#8250df", "runs-mean": "#8250df", "percentile": "#bf8700", "zero": "#0969da"}


def backend_verdict(results: Sequence[CheckResult]) -> str:
    """failed if any check failed, passed if any passed, skipped when all skipped, not-judged without checks."""
    statuses = {r.status for r in results}
    for status in (FAILED, PASSED, SKIPPED):
        if status in statuses:
            return status
    return "not-judged"


def render_html(
    job: str,
    payload: str,
    results: Sequence[CheckResult],
    runs: Mapping[str, Sequence[RunSeconds]],
    *,
    tests: Sequence[CheckResult] = (),
    run_links: Mapping[str, str] | None = None,
) -> str:
    """A self-contained page (inline CSS and SVG): the gate, a summary per backend, each backend's chart, then
    the aggregated junit tests worst first, their runs linked through `run_links` (run id → URL).

    `runs` is the checks' input (backend → (run id, seconds)); backends without results are shown as not judged.
    """
    by_backend: dict[str, list[CheckResult]] = {backend: [] for backend in runs}
    gates = []
    for result in results:
        if result.backend:
            by_backend.setdefault(result.backend, []).append(result)
        else:
            gates.append(result)
    overall = backend_verdict(list(results))
    counts = ", ".join(f"{sum(r.status == s for r in results)} {s}" for s in (FAILED, PASSED, SKIPPED))
    run_ids = sorted({run_id for values in runs.values() for run_id, _ in values})
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Disruption: {escape(job)} {escape(payload)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Backend disruption of {escape(job)}</h1>",
        (
            f'<p class="meta">Payload {escape(payload)} · {len(run_ids)} runs with disruption data · '
            f"{_badge(overall)} {escape(counts)}</p>"
        ),
    ]
    for gate in gates:
        parts.append(f"<p>{_badge(gate.status)} {escape(gate.name)}: {escape(gate.message)}</p>")
    rank = {FAILED: 0, PASSED: 1, SKIPPED: 2}  # failures first: what a person opens the page for
    ordered = sorted(by_backend, key=lambda b: (rank.get(backend_verdict(by_backend[b]), 3), b))
    parts.append("<table><tr><th>Backend</th><th>Verdict</th><th>Reason</th></tr>")
    for backend in ordered:
        checks = by_backend[backend]
        verdict = backend_verdict(checks)
        parts.append(
            f'<tr><td><a href="#{_anchor(backend)}">{escape(backend)}</a></td><td>{_badge(verdict)}</td>'
            f"<td>{escape(_reason(verdict, checks))}</td></tr>"
        )
    parts.append("</table>")
    for backend in ordered:
        checks = by_backend[backend]
        parts.append(f'<section id="{_anchor(backend)}"><h2>{escape(backend)} {_badge(backend_verdict(checks))}</h2>')
        parts.append(_chart(runs.get(backend, ()), checks))
        if checks:
            parts.append("<table><tr><th>Check</th><th>Status</th><th>Message</th></tr>")
            parts.extend(
                f"<tr><td>{escape(c.name)}</td><td>{_badge(c.status)}</td><td>{escape(c.message)}</td></tr>"
                for c in checks
            )
            parts.append("</table>")
        parts.append("</section>")
    if tests:
        parts.append(_tests_section(tests, run_links or {}))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _tests_section(tests: Sequence[CheckResult], links: Mapping[str, str]) -> str:
    """Every aggregated test, failures first, then by share of passing runs (lowest first), then by name."""
    failed = sum(t.status == FAILED for t in tests)

    def share(t: CheckResult) -> float:
        attempts = len(t.passed_runs) + len(t.failed_runs)
        return len(t.passed_runs) / attempts if attempts else 1.0

    ordered = sorted(tests, key=lambda t: (t.status != FAILED, share(t), t.suite, t.name))

    def linked(ids: Sequence[str]) -> str:
        return " ".join(
            f'<a href="{escape(links[i])}">{escape(i)}</a>' if i in links else escape(i) for i in ids
        )

    rows = [
        f'<section id="tests"><h2>Junit tests: {len(tests)} aggregated, {failed} failed</h2>',
        ("<table><tr><th>Suite</th><th>Test</th><th>Status</th><th>Passes</th><th>Failures</th>"
         "<th>Failed runs</th><th>Reason</th></tr>"),
    ]
    for t in ordered:
        rows.append(
            f"<tr><td>{escape(t.suite)}</td><td>{escape(t.name)}</td><td>{_badge(t.status)}</td>"
            f"<td>{len(t.passed_runs)}</td><td>{len(t.failed_runs)}</td><td>{linked(t.failed_runs)}</td>"
            f"<td>{escape(_short_reason(t.message))}</td></tr>"
        )
    rows.append("</table></section>")
    return "\n".join(rows)


def _short_reason(message: str) -> str:
    """The verdict and working percentage of a junit testcase's message, without the history's basis."""
    first = message.splitlines()[0] if message else ""
    found = re.match(r"^(.*?; working \d+%)", first)
    return found.group(1) if found else first


def _badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status)}</span>'


def _anchor(backend: str) -> str:
    return "backend-" + re.sub(r"[^A-Za-z0-9_-]", "_", backend)


def _reason(verdict: str, checks: Sequence[CheckResult]) -> str:
    if verdict == "not-judged":
        return "Not judged (excluded, or too few runs reported disruption data)."
    chosen = next((c for c in checks if c.status == verdict), checks[0])
    if verdict == FAILED:
        failing = sum(c.status == FAILED for c in checks)
        return f"{failing} of {len(checks)} checks failed; first: {chosen.name}: {chosen.message}"
    if verdict == SKIPPED:
        return chosen.message
    passed, skipped = sum(c.status == PASSED for c in checks), sum(c.status == SKIPPED for c in checks)
    return f"{passed} checks passed, {skipped} skipped."


def _chart(values: Sequence[RunSeconds], checks: Sequence[CheckResult]) -> str:
    """Runs as dots (x: run, y: seconds) against each check's threshold as a dashed line."""
    width, height, left, right, top, bottom = 720, 220, 44, 230, 12, 28
    points = sorted(((str(r), float(s)) for r, s in values), key=lambda run: run[0])
    lines = [(c.kind, c.threshold, _line_label(c), c.status) for c in checks if c.threshold is not None]
    top_value = max([s for _, s in points] + [t for _, t, _, _ in lines] + [1.0])
    y_max = top_value * 1.1
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + plot_h - (v / y_max) * plot_h

    failed = {run for c in checks if c.status == FAILED for run in c.failed_runs}
    over = {run for c in checks if c.status != SKIPPED for run in c.failed_runs}
    dropped = {run for c in checks for run in c.dropped_runs}
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            'aria-label="disruption seconds per run">'
        ),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#8c959f"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#8c959f"/>',
        f'<text x="{left - 4}" y="{y(0) + 3:.1f}" text-anchor="end">0s</text>',
        f'<text x="{left - 4}" y="{y(top_value) + 3:.1f}" text-anchor="end">{escape(format_seconds(top_value))}</text>',
    ]
    kept = [s for r, s in points if r not in dropped]
    if kept and any(c.kind == "mean" and c.threshold is not None for c in checks):
        mean = sum(kept) / len(kept)  # what the mean check compares, drawn solid
        lines.append(("runs-mean", mean, f"runs' mean {format_seconds(mean)}", ""))
    label_ys = _spread([y(threshold) + 3 for _, threshold, _, _ in lines], gap=11, low=top + plot_h + 3)
    for (kind, threshold, label, status), label_y in zip(lines, label_ys, strict=True):
        colour = "#cf222e" if status == FAILED else _LINE_COLOURS.get(kind, "#57606a")
        faint = ' stroke-opacity="0.35"' if status == SKIPPED else ""
        dashes = "" if kind == "runs-mean" else ' stroke-dasharray="5 3"'
        yy = y(threshold)
        out.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{left + plot_w}" y2="{yy:.1f}" stroke="{colour}"{faint}{dashes}>'
            f"<title>{escape(label)}</title></line>"
        )
        suffix = f" ({escape(status)})" if status else ""
        out.append(f'<text x="{left + plot_w + 4}" y="{label_y:.1f}">{escape(label)}{suffix}</text>')
    step = plot_w / max(len(points), 1)
    for index, (run_id, seconds) in enumerate(points):
        cx = left + step * (index + 0.5)
        fill = "#cf222e" if run_id in failed else "#bf8700" if run_id in over else "#1f6feb"
        hollow = ' fill-opacity="0.15" stroke-width="1.5"' if run_id in dropped else ""
        out.append(
            f'<circle cx="{cx:.1f}" cy="{y(seconds):.1f}" r="4" fill="{fill}" stroke="{fill}"{hollow}>'
            f"<title>{escape(run_id)}={escape(format_seconds(seconds))}</title></circle>"
        )
        if len(points) <= 15:
            out.append(f'<text x="{cx:.1f}" y="{height - 8}" text-anchor="middle">{escape(run_id[-6:])}</text>')
    if not points:
        out.append(f'<text x="{left + 8}" y="{top + plot_h / 2:.1f}">no runs reported this backend</text>')
    out.append("</svg>")
    return "".join(out)


def _spread(ys: Sequence[float], gap: float, low: float) -> list[float]:
    """Move label positions apart by at least `gap`, keeping their order and staying above `low`."""
    order = sorted(range(len(ys)), key=lambda i: -ys[i])  # bottom first
    placed = list(ys)
    floor = low
    for i in order:
        placed[i] = min(ys[i], floor)
        floor = placed[i] - gap
    return placed


def _line_label(check: CheckResult) -> str:
    value = format_seconds(check.threshold if check.threshold is not None else 0.0)
    if check.kind == "mean":
        return f"mean+5σ {value}"
    if check.kind == "zero":
        return f"zero P{check.percentile}={value}"
    return f"P{check.percentile}={value}"
