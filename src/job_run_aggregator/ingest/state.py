"""What the warehouse already holds: which runs each uploader has loaded, where listing starts, known alerts.

Per job and uploader, listing starts after the newest loaded build id older than the look-back window, and ids
already loaded inside the window are skipped, so a run that finished late is still picked up (DESIGN §6).

The window ends at the uploader's clock (`now`), never at a time the data claims: a prowjob saying 2099 (refused
anyway, see runs.check_times) or one saying 2001 on the newest id cannot move the start past runs still due. The
start is also never past the lowest id inside the window, so a run whose time contradicts its id costs a longer
listing, not lost runs. Only real build ids (digits) are ever loaded, so only they can set the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from job_run_aggregator.artifacts.runs import MARKER_TABLE, MISSING_REASON
from job_run_aggregator.warehouse.base import Warehouse
from job_run_aggregator.warehouse.schema import ALERT_KEYS

ALERT_KEYS_TABLE = ALERT_KEYS.name

DEFAULT_LOOKBACK = timedelta(hours=24)

# Build ids are equal-length decimal strings, so MAX(Name) is the newest id. Names that are not digits (loaded by
# versions before build ids were checked) never set the start.
LOADED_SQL = """
WITH runs AS (
  SELECT JobName, Name, StartTime >= @window_start AS InWindow FROM {marker}
  WHERE REGEXP_CONTAINS(Name, r'^[0-9]+$')
),
lowest AS (SELECT JobName, MIN(Name) AS Lowest FROM runs WHERE InWindow GROUP BY JobName)
SELECT JobName, Name, TRUE AS InWindow FROM runs WHERE InWindow
UNION ALL
SELECT r.JobName AS JobName, MAX(r.Name) AS Name, FALSE AS InWindow
FROM runs AS r LEFT JOIN lowest AS l ON r.JobName = l.JobName
WHERE NOT r.InWindow AND (l.Lowest IS NULL OR r.Name < l.Lowest)
GROUP BY r.JobName
"""

# Runs that failed (unusable prowjob.json) are recorded in LoadProblems and not marked loaded; they are re-read
# on every upload, however old, so a failure is never silently outside the look-back window. Run folders that are
# not runs (not a build id, a symlink) are recorded with the folder as the path ('…/'): never re-read.
FAILED_SQL = """
SELECT DISTINCT p.JobName AS JobName, p.JobRunName AS Name, p.Path LIKE '%/' AS Rejected
FROM LoadProblems AS p LEFT JOIN {marker} AS r ON r.Name = p.JobRunName
WHERE p.Uploader = @uploader AND r.Name IS NULL
"""

# Zero injection (DESIGN §3.2) is decided at load time against a set that does not depend on load order, crash
# points or the clock: every alert key ever loaded for the release. When a chunk brings keys the release had not
# seen, the runs loaded before get their 0-second rows in the same commit (ingest/upload._backfill_zeros), so any
# order of loading ends with the same rows: each run with alert files has a row for every key of its release.
KnownAlerts = dict[str, set[tuple[str, str, str]]]  # release -> (Name, Namespace, Level) of alerts seen
# The set is kept in AlertKeys, written in the same load as the Alerts rows that bring a new key (a scan of Alerts
# grew with the warehouse: ~1 s and ~100 MB of buffer cache per upload at a year's 26M rows). A warehouse whose
# Alerts were loaded before AlertKeys existed has none: the keys are then read from Alerts once and recorded.
ALERT_KEYS_SQL = "SELECT Release, Name, Namespace, Level FROM AlertKeys"
KNOWN_ALERTS_SQL = """
SELECT DISTINCT j.Release AS Release, a.Name AS Name, a.Namespace AS Namespace, a.Level AS Level
FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
"""
# The loaded runs of a release that have alert rows (so had alert files), with the columns their rows repeat.
# With `@with_alerts` FALSE: those without any alert row (no alert files, or files that listed no alert while
# the release knew no key yet; the bucket tells which).
RELEASE_RUNS_SQL = """
SELECT r.Name AS Name, r.JobName AS JobName, r.Status AS Status, r.StartTime AS StartTime, r.EndTime AS EndTime,
       r.ReleaseTag AS ReleaseTag, r.Cluster AS Cluster, r.MasterNodesUpdated AS MasterNodesUpdated,
       j.GCSJobHistoryLocationPrefix AS Prefix
FROM Alerts_JobRuns AS r JOIN Jobs AS j ON r.JobName = j.JobName
WHERE j.Release = @release AND EXISTS (SELECT 1 FROM Alerts AS a WHERE a.JobRunName = r.Name) = @with_alerts
"""


# Runs with objects that vanished between listing and reading, since when (the first record's time), per job.
MISSING_SQL = """
SELECT JobName, JobRunName AS Name, MIN(DetectedAt) AS Since FROM LoadProblems
WHERE Reason = @reason GROUP BY JobName, JobRunName
"""
# Once such a run has loaded, its records of the flicker are removed: the tables then equal a fresh ingest.
RESOLVED_SQL = """
DELETE FROM LoadProblems
WHERE Reason = @reason AND Uploader = @uploader AND JobRunName IN (SELECT Name FROM {marker})
"""


@dataclass(slots=True)
class LoadedState:
    """Per job: where listing starts and which ids inside the look-back window are loaded, per uploader."""

    start_after: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> job -> id
    loaded: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # kind -> job -> ids in window
    failed: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # kind -> job -> ids to retry
    rejected: dict[str, set[str]] = field(default_factory=dict)  # job -> folders recorded as not runs
    missing_since: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (job, id) -> first seen missing

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


def read_loaded_state(warehouse: Warehouse, kinds: Iterable[str], lookback: timedelta, now: datetime) -> LoadedState:
    """Per uploader: the listing start and the ids loaded inside the window [now - lookback, …) of each job."""
    state = LoadedState()
    for kind in kinds:
        marker = MARKER_TABLE[kind]
        rows = warehouse.query(LOADED_SQL.format(marker=marker), {"window_start": now - lookback})
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
            if r["Rejected"]:
                state.rejected.setdefault(r["JobName"], set()).add(r["Name"])
            else:
                failed.setdefault(r["JobName"], set()).add(r["Name"])
        state.failed[kind] = failed
    for r in warehouse.query(MISSING_SQL, {"reason": MISSING_REASON}):
        state.missing_since[(r["JobName"], r["Name"])] = r["Since"]
    return state


def clear_resolved_missing(warehouse: Warehouse, kinds: Iterable[str]) -> None:
    """Remove the vanished-object records of runs that have loaded since (each uploader's own)."""
    for kind in kinds:
        warehouse.query(RESOLVED_SQL.format(marker=MARKER_TABLE[kind]), {"reason": MISSING_REASON, "uploader": kind})


def read_known_alerts(warehouse: Warehouse, record: bool = True) -> KnownAlerts:
    """Alert keys ever loaded, per release (the zero-injection candidates).

    From AlertKeys; when it is empty and Alerts is not (rows loaded before AlertKeys existed), from Alerts, and
    then recorded in AlertKeys (unless `record` is false, as in a dry run).
    """
    rows = warehouse.query(ALERT_KEYS_SQL)
    if not rows:
        rows = warehouse.query(KNOWN_ALERTS_SQL)
        if rows and record:
            warehouse.load({ALERT_KEYS_TABLE: [dict(r) for r in rows]})
    known: KnownAlerts = {}
    for r in rows:
        known.setdefault(r["Release"], set()).add((r["Name"], r["Namespace"], r["Level"]))
    return known


def alert_key_rows(release: str, keys: Iterable[tuple[str, str, str]]) -> list[dict[str, str]]:
    """AlertKeys rows for keys of `release` (loaded with the Alerts rows that bring them)."""
    return [{"Release": release, "Name": n, "Namespace": ns, "Level": lvl} for n, ns, lvl in sorted(keys)]
