"""Planted step changes: from a given time on, every run of one job reports more (or less) of one backend.

`--plant-regression BACKEND:JOB:DATE:SECONDS` adds SECONDS to the backend's DisruptionSeconds of every run of JOB
that starts at or after DATE (an ISO date or date-time, UTC). The seconds go into the run's last
backend-disruption file, after every random draw, so nothing else in the bucket changes: DisruptionSeconds is
ceil per file then summed, so a whole number of seconds raises the run's row by exactly that much; a negative
number (an improvement) floors the file's duration at zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.pipeline.sample_data import catalog
from job_run_aggregator.pipeline.sample_data.plan import Run

BACKEND_NAMES = tuple(f"{b[0]}-{c}-connections" for b in catalog.BACKENDS for c in ("new", "reused"))


@dataclass(frozen=True, slots=True)
class PlantedRegression:
    """SECONDS more of BACKEND in every run of JOB started at or after `since`."""

    backend: str
    job: str
    since: datetime
    seconds: float


def parse_planted_regression(text: str) -> PlantedRegression:
    """Parse BACKEND:JOB:DATE:SECONDS (DATE may hold colons: 2026-11-20T06:00:00Z)."""
    usage = (f"--plant-regression {text!r}: give BACKEND:JOB:DATE:SECONDS, e.g. "
             "kube-api-new-connections:periodic-ci-openshift-release-master-nightly-4.13-e2e-gcp-sdn:2026-11-20:30")
    parts = text.split(":", 2)
    if len(parts) != 3 or ":" not in parts[2]:
        raise ConfigError(usage)
    backend, job, rest = parts
    date_text, seconds_text = rest.rsplit(":", 1)
    try:
        since = datetime.fromisoformat(date_text.strip())
        seconds = float(seconds_text)
    except ValueError:
        raise ConfigError(usage) from None
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    if not backend or not job or not math.isfinite(seconds):
        raise ConfigError(usage)
    return PlantedRegression(backend.strip(), job.strip(), since, seconds)


def plant_regressions(runs: list[Run], plants: Sequence[PlantedRegression]) -> list[Run]:
    """Mark the runs each plant applies to; raise ConfigError for a backend or job the sample does not have."""
    if not plants:
        return runs
    jobs = {run.job.name for run in runs}
    for p in plants:
        if p.backend not in BACKEND_NAMES:
            raise ConfigError(f"--plant-regression: backend {p.backend!r} is not in the sample data; choose one of "
                              f"{', '.join(BACKEND_NAMES)}")
        if p.job not in jobs:
            raise ConfigError(f"--plant-regression: job {p.job!r} is not among the generated jobs; see "
                              "--job-names-file for their names")
    out = []
    for run in runs:
        extra = tuple((p.backend, p.seconds) for p in plants if p.job == run.job.name and run.start >= p.since)
        out.append(replace(run, planted=run.planted + extra) if extra else run)
    return out
