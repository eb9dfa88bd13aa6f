"""What the warehouse already holds: which runs each uploader has loaded, where listing starts, known alerts.

Per job and uploader, listing starts after the newest loaded build id older than the look-back window, and ids
already loaded inside the window are skipped, so a run that finished late is still picked up (DESIGN §6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from job_run_aggregator.artifacts.runs import MARKER_TABLE
from job_run_aggregator.warehouse.base import Warehouse

DEFAULT_LOOKBACK = timedelta(hours=24)

# Build ids are equal-length decimal strings, so MAX(Name) is the newest id.
LOADED_SQL = """
SELECT r.JobName AS JobName, r.Name AS Name,
       r.StartTime >= TIMESTAMP_SUB(n.Newest, INTERVAL @lookback_seconds SECOND) AS InWindow
FROM {marker} AS r
JOIN (SELECT JobName, MAX(StartTime) AS Newest FROM {marker} GROUP BY JobName) AS n ON r.JobName = n.JobName
WHERE r.StartTime >= TIMESTAMP_SUB(n.Newest, INTERVAL @lookback_seconds SECOND)
UNION ALL
SELECT r.JobName AS JobName, MAX(r.Name) AS Name, FALSE AS InWindow
FROM {marker} AS r
JOIN (SELECT JobName, MAX(StartTime) AS Newest FROM {marker} GROUP BY JobName) AS n ON r.JobName = n.JobName
WHERE r.StartTime < TIMESTAMP_SUB(n.Newest, INTERVAL @lookback_seconds SECOND)
GROUP BY r.JobName
"""

# Runs that failed (unusable prowjob.json) are recorded in LoadProblems and not marked loaded; they are re-read
# on every upload, however old, so a failure is never silently outside the look-back window.
FAILED_SQL = """
SELECT DISTINCT p.JobName AS JobName, p.JobRunName AS Name
FROM LoadProblems AS p LEFT JOIN {marker} AS r ON r.Name = p.JobRunName
WHERE p.Uploader = @uploader AND r.Name IS NULL
"""

# Known alerts are read from the recent partitions only: a release's alerts all show up while it is being
# tested, and scanning years of Alerts on BigQuery every 4 hours would cost far more than it tells.
KNOWN_ALERTS_WINDOW = timedelta(days=90)
KnownAlerts = dict[str, set[tuple[str, str, str]]]  # release -> (Name, Namespace, Level) of alerts seen
KNOWN_ALERTS_SQL = """
SELECT DISTINCT j.Release AS Release, a.Name AS Name, a.Namespace AS Namespace, a.Level AS Level
FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
WHERE a.JobRunStartTime >= @since
"""


@dataclass(slots=True)
class LoadedState:
    """Per job: where listing starts and which ids inside the look-back window are loaded, per uploader."""

    start_after: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> job -> id
    loaded: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # kind -> job -> ids in window
    failed: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # kind -> job -> ids to retry

    def listing_start(self, job: str, kinds: Iterable[str], since: str | None) -> str | None:
        # The lowest start over the uploaders: one listing serves them all.
        starts = [self.start_after.get(k, {}).get(job) for k in kinds]
        start = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        if since is not None and (start is None or since > start):
            start = since
        return start

    def missing_kinds(self, job: str, run_id: str, kinds: Iterable[str]) -> tuple[str, ...]:
        out = []
        for k in kinds:
            after = self.start_after.get(k, {}).get(job)
            if run_id in self.failed.get(k, {}).get(job, set()):
                out.append(k)
            elif (after is not None and run_id <= after) or run_id in self.loaded.get(k, {}).get(job, set()):
                continue
            else:
                out.append(k)
        return tuple(out)

    def failed_runs(self, job: str, kinds: Iterable[str]) -> list[str]:
        """Ids of this job's failed runs still to retry, oldest first."""
        return sorted(set().union(*(self.failed.get(k, {}).get(job, set()) for k in kinds)))


def read_loaded_state(warehouse: Warehouse, kinds: Iterable[str], lookback: timedelta) -> LoadedState:
    state = LoadedState()
    for kind in kinds:
        marker = MARKER_TABLE[kind]
        rows = warehouse.query(LOADED_SQL.format(marker=marker), {"lookback_seconds": int(lookback.total_seconds())})
        starts: dict[str, str] = {}
        loaded: dict[str, set[str]] = {}
        for r in rows:
            if r["InWindow"]:
                loaded.setdefault(r["JobName"], set()).add(r["Name"])
            elif r["Name"] is not None:
                starts[r["JobName"]] = r["Name"]
        state.start_after[kind], state.loaded[kind] = starts, loaded
        failed: dict[str, set[str]] = {}
        for r in warehouse.query(FAILED_SQL.format(marker=marker), {"uploader": kind}):
            failed.setdefault(r["JobName"], set()).add(r["Name"])
        state.failed[kind] = failed
    return state


def read_known_alerts(warehouse: Warehouse, now: datetime) -> KnownAlerts:
    """Alert keys seen per release in the last KNOWN_ALERTS_WINDOW (the zero-injection candidates)."""
    known: KnownAlerts = {}
    for r in warehouse.query(KNOWN_ALERTS_SQL, {"since": now - KNOWN_ALERTS_WINDOW}):
        known.setdefault(r["Release"], set()).add((r["Name"], r["Namespace"], r["Level"]))
    return known
