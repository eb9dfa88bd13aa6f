"""Tables on stdout and appended to RESULTS.md, each headed by the machine's core count and the date."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
REPO = Path(__file__).resolve().parents[1]


@dataclass(slots=True)
class Table:
    """A titled markdown table with optional notes under it."""

    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append(list(cells))

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "| " + " | ".join("---" for _ in self.columns) + " |"]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in self.rows]
        lines += [""] + [f"- {n}" for n in self.notes] + ([""] if self.notes else [])
        return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if value < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def machine() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, text=True)
    rev = (commit.stdout.strip() or "?") + ("+local changes" if dirty.stdout.strip() else "")
    return (f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, commit {rev}")


def header(argv: list[str]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"## Run of {now}\n\n`python -m benchmarks {' '.join(argv)}` on {machine()}.\n"


def emit(table: Table, append: bool) -> None:
    text = table.markdown()
    print("\n" + text, flush=True)
    if append:
        with RESULTS.open("a") as handle:
            handle.write(text + "\n")


def start_section(argv: list[str], append: bool) -> None:
    text = header(argv)
    print(text, flush=True)
    if append:
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\n")
        with RESULTS.open("a") as handle:
            handle.write("\n" + text + "\n")


def run_child(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `python -m benchmarks.child ARGS` from the repo root; return its JSON plus the process wall time."""
    import time

    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.child", *args], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out
