"""Fixture data for the historical-data tests: Jobs, BackendDisruption and Alerts rows written straight to a warehouse."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


@dataclass
class HistoryTables:
    """Rows to load: jobs with explicit variants, and runs with their disruption or alert seconds."""

    now: datetime = NOW  # the default end of the window; runs start a day before it unless told otherwise
    jobs: list[dict[str, Any]] = field(default_factory=list)
    disruptions: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1_000_000))

    def job(self, variant: str, name: str | None = None) -> str:
        """Add a job from `"4.14/4.13 aws amd64 ovn ha"` (`-` for no FromRelease); return its name."""
        releases, platform, architecture, network, topology = variant.split()
        release, from_release = releases.split("/")
        from_release = "" if from_release == "-" else from_release
        name = name or f"periodic-test-{release}-{from_release or 'none'}-{platform}-{architecture}-{network}-{topology}"
        self.jobs.append({
            "JobName": name, "GCSBucketName": "test-platform-results", "GCSJobHistoryLocationPrefix": f"logs/{name}",
            "CollectDisruption": True, "CollectTestRuns": True, "Platform": platform, "Architecture": architecture,
            "Network": network, "IPMode": "ipv4", "Topology": topology, "Release": release,
            "FromRelease": from_release, "RunsUpgrade": bool(from_release), "RunsE2EParallel": not from_release,
            "RunsE2ESerial": False,
        })
        return name

    def run(self, job: str, start: datetime | None = None, masters: str = "Y") -> dict[str, Any]:
        """A new job run's denormalised columns (one run id per call)."""
        start = start or self.now - timedelta(days=1)
        return {
            "JobRunName": str(next(self._ids)), "JobName": job, "JobRunStartTime": start,
            "JobRunEndTime": start + timedelta(hours=2), "Cluster": "build01", "ReleaseTag": "",
            "MasterNodesUpdated": masters, "JobRunStatus": "success",
        }

    def disruption(self, job: str, backend: str, seconds: Sequence[int], start: datetime | None = None,
                   masters: str = "Y") -> None:
        """One run per value: `backend` was disrupted that many seconds in it."""
        for i, value in enumerate(seconds):
            when = start if start is not None else self.now - timedelta(days=1, minutes=i)
            self.disruptions.append({**self.run(job, when, masters), "BackendName": backend,
                                     "DisruptionSeconds": int(value)})

    def alert_run(self, job: str, alerts: Sequence[tuple[str, str, str, int]], start: datetime | None = None) -> None:
        """One run that reported `(name, namespace, level, seconds)` rows."""
        run = self.run(job, start)
        for name, namespace, level, seconds in alerts:
            self.alerts.append({**run, "Name": name, "Namespace": namespace, "Level": level, "AlertSeconds": seconds})

    def load(self, warehouse) -> None:
        warehouse.create_tables()
        batch = {"Jobs": self.jobs, "BackendDisruption": self.disruptions, "Alerts": self.alerts}
        warehouse.load({table: rows for table, rows in batch.items() if rows})


@pytest.fixture
def tables() -> HistoryTables:
    return HistoryTables()
