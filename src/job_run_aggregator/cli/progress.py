"""Progress on stderr: a rich bar on a terminal, a plain log line every few seconds otherwise (pods)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

from job_run_aggregator.ingest.upload import Progress
from job_run_aggregator.model import RunSummary
from job_run_aggregator.cli.main import stderr

log = logging.getLogger("job_run_aggregator.progress")


@contextmanager
def upload_progress(label: str, interval: float = 10.0) -> Iterator[Progress]:
    if stderr.is_terminal and sys.stderr.isatty():
        bar = RichProgress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[runs]}"),
            TimeElapsedColumn(), console=stderr, transient=True,
        )
        with bar:
            task = bar.add_task(label, total=None, runs="")

            def start(total: int) -> None:
                bar.update(task, total=total)

            def advance(job: str, s: RunSummary) -> None:
                bar.update(task, advance=1, runs=f"{s.loaded} runs loaded, {s.failed} failed")

            yield Progress(start, advance)
        return
    state = {"last": time.monotonic(), "done": 0, "total": 0}

    def start_plain(total: int) -> None:
        state["total"] = total
        log.info("%s: %d jobs to check", label, total)

    def advance_plain(job: str, s: RunSummary) -> None:
        state["done"] += 1
        if time.monotonic() - state["last"] >= interval or state["done"] == state["total"]:
            state["last"] = time.monotonic()
            log.info("%s: %d/%d jobs, runs seen %d loaded %d unfinished %d failed %d",
                     label, state["done"], state["total"], s.seen, s.loaded, s.unfinished, s.failed)

    yield Progress(start_plain, advance_plain)
