"""Plain records that flow between the pure parsers, the uploaders and the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RunStatus(StrEnum):
    """What reading a run gave: rows to load, nothing yet, a permanent problem, or a state to retry."""

    LOADED = "loaded"  # finished and read: its rows load
    UNFINISHED = "unfinished"  # still running: read again next upload
    FAILED = "failed"  # unusable (bad prowjob, impossible times, …): recorded, re-read every upload
    RETRY = "retry"  # a listed object could not be read now: nothing commits, read again next upload

# The six columns a historical row's variant is keyed on, in the order origin's query_results.json holds them
# (origin's platformidentification.JobType). Declared once; history, matching, jobs and web import it.
VARIANT_COLUMNS: tuple[str, str, str, str, str, str] = (
    "Release", "FromRelease", "Platform", "Architecture", "Network", "Topology",
)


@dataclass(frozen=True, slots=True)
class Variant:
    """What the Job Primer derives from a job name (one Jobs row, DESIGN §4/§5)."""

    job_name: str
    platform: str
    architecture: str
    network: str
    ip_mode: str
    topology: str
    release: str
    from_release: str
    runs_upgrade: bool
    runs_e2e_parallel: bool
    runs_e2e_serial: bool

    def jobs_row(self, bucket: str = "test-platform-results") -> dict[str, object]:
        """Render as a Jobs table row."""
        return {
            "JobName": self.job_name,
            "GCSBucketName": bucket,
            "GCSJobHistoryLocationPrefix": f"logs/{self.job_name}",
            "CollectDisruption": True,
            "CollectTestRuns": True,
            "Platform": self.platform,
            "Architecture": self.architecture,
            "Network": self.network,
            "IPMode": self.ip_mode,
            "Topology": self.topology,
            "Release": self.release,
            "FromRelease": self.from_release,
            "RunsUpgrade": self.runs_upgrade,
            "RunsE2EParallel": self.runs_e2e_parallel,
            "RunsE2ESerial": self.runs_e2e_serial,
        }


@dataclass(frozen=True, slots=True)
class ProwJob:
    """The fields of prowjob.json we use (DESIGN §2)."""

    job_name: str
    build_id: str
    state: str
    start_time: datetime | None
    completion_time: datetime | None  # None => run not finished: retry later
    cluster: str
    release_tag: str  # label release.openshift.io/analysis
    payload_tag: str  # annotation release.openshift.io/tag
    from_payload_tag: str  # annotation release.openshift.io/from-tag
    aggregation_id: str  # label release.openshift.io/aggregation-id


@dataclass(frozen=True, slots=True)
class StartedFinished:
    """started.json / finished.json; every field may be absent."""

    timestamp: datetime | None
    passed: bool | None = None
    result: str = ""


@dataclass(frozen=True, slots=True)
class AlertDuration:
    name: str
    namespace: str
    level: str
    seconds: float
    # The exact Go duration when parsed from a file: sums across files are done in nanoseconds, as Go did.
    nanoseconds: int | None = None


@dataclass(frozen=True, slots=True)
class TestCase:
    __test__ = False  # a TestRuns record, not something for pytest to collect

    name: str
    suite: str  # ancestor suite names joined by "|||"
    status: str  # "Passed" | "Failed"


@dataclass(frozen=True, slots=True)
class Problem:
    """A bad artifact: the object path and what is wrong with it."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class RunSummary:
    """Counts an upload command reports at the end."""

    jobs: int = 0
    seen: int = 0
    loaded: int = 0
    skipped: int = 0
    unfinished: int = 0
    failed: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
