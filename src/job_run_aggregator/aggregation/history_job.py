"""Whose history judges a payload: the job's own, or the previous release's job (DESIGN §9.1, 2023-06), pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from job_run_aggregator.aggregation.rules import PREVIOUS_RELEASE_MIN_RUNS

# A whole version "N.M": not part of a longer number or a dotted triple.
_VERSION = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d]|\.\d)")
# The Jobs columns that must agree for the previous release's job to stand in (all but the releases).
SAME_VARIANT_COLUMNS = ("Platform", "Architecture", "Network", "IPMode", "Topology", "RunsUpgrade",
                        "RunsE2EParallel", "RunsE2ESerial")


def previous_release_job_name(job: str) -> str | None:
    """The same name with every version string one minor release lower (`4.14…from-stable-4.13` →
    `4.13…from-stable-4.12`); None when the name has no version or one is already at minor 0."""
    versions = list(_VERSION.finditer(job))
    if not versions or any(int(m.group(2)) == 0 for m in versions):
        return None
    return _VERSION.sub(lambda m: f"{m.group(1)}.{int(m.group(2)) - 1}", job)


@dataclass(frozen=True, slots=True)
class HistoryChoice:
    """The job whose history is used, and the sentence the report says about it ("" for the job itself)."""

    job: str
    note: str = ""


def choose_history_job(
    job: str,
    own_runs: int,
    jobs: Mapping[str, Mapping[str, Any]],
    runs_of: Mapping[str, int] | None = None,
    *,
    minimum: int = PREVIOUS_RELEASE_MIN_RUNS,
) -> HistoryChoice:
    """Keep `job` when it has `minimum` history runs; else the previous release's job if Jobs lists it with the
    same variant and it has more history runs (`runs_of`) than `job`."""
    if own_runs >= minimum:
        return HistoryChoice(job)
    previous = previous_release_job_name(job)
    row, own_row = jobs.get(previous or ""), jobs.get(job)
    if previous is None or row is None:
        return HistoryChoice(job, f"{job} has {own_runs} history runs (fewer than {minimum}) and no previous "
                                  "release job with the same variant is known; using its own history.")
    if own_row is not None and any(row.get(c) != own_row.get(c) for c in SAME_VARIANT_COLUMNS):
        return HistoryChoice(job, f"{job} has {own_runs} history runs (fewer than {minimum}); {previous} has "
                                  "another variant, so its own history is used.")
    theirs = (runs_of or {}).get(previous, 0)
    if theirs <= own_runs:
        return HistoryChoice(job, f"{job} has {own_runs} history runs (fewer than {minimum}); {previous} has "
                                  f"{theirs}, so its own history is used.")
    return HistoryChoice(previous, f"Using previous release historical data from job: {previous} ({theirs} runs; "
                                   f"{job} has {own_runs}, fewer than {minimum}).")
