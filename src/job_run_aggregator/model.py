"""Plain records and small value types used everywhere: job variants, run records, `Release`, `DataKind`,
`RunStatus` and the one way seconds are written for people."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from job_run_aggregator.errors import ConfigError

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
    bigquery_jobs: int | None = None  # BigQuery jobs (loads, MERGEs, queries) the upload started; None elsewhere



# ---- value types --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Release:
    """An OpenShift release "N.M" (4.14); ordered numerically, so 4.9 < 4.10."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str, leading: bool = False) -> Release | None:
        """Read "N.M" (ASCII digits); None when `text` is not one.

        `leading` reads the first two dot-separated fields of a longer version, as origin's Go does ("4.12.3" is
        4.12, "4.12.x" too); without it the whole text must be N.M.
        """
        parts = text.split(".")
        if len(parts) < 2 or (len(parts) > 2 and not leading):
            return None
        major, minor = parts[0], parts[1]
        if not (major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit()):
            return None
        return cls(int(major), int(minor))

    def shifted(self, minors: int) -> Release | None:
        """The release `minors` minor versions later (earlier when negative); None below N.0."""
        minor = self.minor + minors
        return Release(self.major, minor) if minor >= 0 else None

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def release_order(text: str) -> tuple[int, int, int, str]:
    """A sort key for release texts: N.M releases numerically, above anything that is not one (by its text)."""
    release = Release.parse(text)
    return (1, release.major, release.minor, "") if release else (0, 0, 0, text)


@dataclass(frozen=True, slots=True)
class DataKind:
    """One kind of historical data: its `--data-type`/uploader name, its tables, its export's names and defaults."""

    name: str  # the --data-type value and the uploader's name
    table: str  # the data rows
    marker_table: str  # one row per loaded run: the uploader's exactly-once marker
    name_column: str  # the export's key column
    export_file: str  # the name origin embeds the export under
    default_days: int  # the export's window
    default_min_job_runs: int  # the export keeps variants with at least this many runs

    def __str__(self) -> str:
        return self.name


DISRUPTION_DATA = DataKind("disruptions", "BackendDisruption", "BackendDisruption_JobRuns", "BackendName",
                           "backend_query_results.json", 21, 100)
# The real alert query had no run minimum; origin's alert export covers the last week.
ALERT_DATA = DataKind("alerts", "Alerts", "Alerts_JobRuns", "AlertName", "alerts_query_results.json", 7, 0)
DATA_KINDS: dict[str, DataKind] = {k.name: k for k in (DISRUPTION_DATA, ALERT_DATA)}


def data_kind(name: str) -> DataKind:
    """The DataKind called `name` (disruptions or alerts).

    Raises:
        ConfigError: any other name.
    """
    try:
        return DATA_KINDS[name]
    except KeyError:
        raise ConfigError(f"--data-type {name!r}: choose disruptions or alerts") from None


class RunStatus(StrEnum):
    """What reading a run gave: rows to load, nothing yet, a permanent problem, or a state to retry."""

    LOADED = "loaded"  # finished and read: its rows load
    UNFINISHED = "unfinished"  # still running: read again next upload
    FAILED = "failed"  # unusable (bad prowjob, impossible times, …): recorded, re-read every upload
    RETRY = "retry"  # a listed object could not be read now: nothing commits, read again next upload


# The longest window or period any option may ask for: ten years. Longer ones reach before year 1 from any date in
# the data's range and would overflow the date arithmetic instead of meaning anything.
MAX_DAYS = 3650


def check_days(days: float, option: str = "--days") -> None:
    """Refuse a window of fewer than 1 or more than MAX_DAYS days.

    Raises:
        ConfigError: naming `option`.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ConfigError(f"{option} {days}: give a number of days from 1 to {MAX_DAYS}")


def format_seconds(value: float, places: int = 2, unit: str = "s", trim: bool = True) -> str:
    """Seconds for people: `places` decimals, trailing zeros dropped (unless not `trim`), then `unit`.

    `12s`, `2.5s`, `0.35s` by default; NaN prints as `NaN` (no unit), a rounded negative zero as `0`.
    """
    if math.isnan(value):
        return "NaN"
    text = f"{value:.{places}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text}{unit}"
