"""Every warehouse table, defined once (DESIGN §4) and rendered per engine by the backends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # BigQuery standard type name: STRING, BOOLEAN, INTEGER, FLOAT, TIMESTAMP
    required: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key: loads are idempotent on it
    partition: str | None = None  # TIMESTAMP column BigQuery partitions on (by day)
    clustering: tuple[str, ...] = ()
    description: str = ""
    # The column holding the job run's start time, used by `status` and window filters.
    time_column: str | None = None
    # The marker table whose row (Name = this table's JobRunName) says a run's rows here are loaded. Set, the
    # table may be stored without a key index (`indexed_key`): loads skip runs already marked, in the same
    # transaction as the markers, so the key stays unique without one.
    loaded_by: str | None = None
    # False: engines that enforce a key with an index (DuckDB: PRIMARY KEY, an ART index kept whole in memory
    # and ~90% of the file at a year's volume) create the table without it. BigQuery MERGEs on `key` either way.
    indexed_key: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _s(name: str, required: bool = True) -> Column:
    return Column(name, "STRING", required)


def _b(name: str) -> Column:
    return Column(name, "BOOLEAN")


def _t(name: str, required: bool = True) -> Column:
    return Column(name, "TIMESTAMP", required)


def _i(name: str) -> Column:
    return Column(name, "INTEGER")


_JOB_RUN_COLUMNS = (
    _s("Name"),
    _s("JobName"),
    _s("Status"),
    _t("StartTime"),
    _t("EndTime", required=False),
    _s("ReleaseTag", required=False),
    _s("Cluster", required=False),
    _s("MasterNodesUpdated", required=False),
)

# The columns each data row repeats from its job run, so percentile queries need no join for the window.
_DENORMALISED = (
    _s("JobName"),
    _t("JobRunStartTime"),
    _t("JobRunEndTime", required=False),
    _s("Cluster", required=False),
    _s("ReleaseTag", required=False),
    _s("MasterNodesUpdated", required=False),
    _s("JobRunStatus", required=False),
)

JOBS = Table(
    "Jobs",
    (
        _s("JobName"),
        _s("GCSBucketName"),
        _s("GCSJobHistoryLocationPrefix"),
        _b("CollectDisruption"),
        _b("CollectTestRuns"),
        _s("Platform"),
        _s("Architecture"),
        _s("Network"),
        _s("IPMode"),
        _s("Topology"),
        _s("Release"),
        _s("FromRelease"),
        _b("RunsUpgrade"),
        _b("RunsE2EParallel"),
        _b("RunsE2ESerial"),
    ),
    key=("JobName",),
    description="Jobs whose runs are ingested, with the variant derived from the job name.",
)

JOB_RUNS = Table(
    "JobRuns", _JOB_RUN_COLUMNS, key=("Name",), partition="StartTime", clustering=("JobName",),
    description="Job runs loaded by the job-run uploader.", time_column="StartTime",
)
DISRUPTION_JOB_RUNS = Table(
    "BackendDisruption_JobRuns", _JOB_RUN_COLUMNS, key=("Name",), partition="StartTime",
    clustering=("JobName",), description="Job runs loaded by the disruption uploader.", time_column="StartTime",
)
ALERTS_JOB_RUNS = Table(
    "Alerts_JobRuns", _JOB_RUN_COLUMNS, key=("Name",), partition="StartTime", clustering=("JobName",),
    description="Job runs loaded by the alert uploader.", time_column="StartTime",
)
TEST_RUNS = Table(
    "TestRuns",
    (_s("Name"), _s("JobRunName"), _s("JobName"), _s("Status"), _s("TestSuite"), _t("JobRunStartTime", required=False)),
    key=("JobRunName", "TestSuite", "Name"),
    partition="JobRunStartTime",
    clustering=("JobName",),
    description="Test results from junit files.",
    time_column="JobRunStartTime",
    loaded_by="JobRuns",
    indexed_key=False,
)
BACKEND_DISRUPTION = Table(
    "BackendDisruption",
    (_s("BackendName"), _s("JobRunName"), _i("DisruptionSeconds"), *_DENORMALISED),
    key=("JobRunName", "BackendName"),
    partition="JobRunStartTime",
    clustering=("JobName", "BackendName"),
    description="Seconds of disruption per backend per job run (ceil per file, summed over files).",
    time_column="JobRunStartTime",
    loaded_by="BackendDisruption_JobRuns",
    indexed_key=False,
)
ALERTS = Table(
    "Alerts",
    (_s("Name"), _s("Namespace"), _s("Level"), _i("AlertSeconds"), _s("JobRunName"), *_DENORMALISED),
    key=("JobRunName", "Name", "Namespace", "Level"),
    partition="JobRunStartTime",
    clustering=("JobName", "Name"),
    description="Seconds an alert fired per job run (summed over files, ceil once); 0 for known alerts not fired.",
    time_column="JobRunStartTime",
    loaded_by="Alerts_JobRuns",
    indexed_key=False,
)
ALERT_KEYS = Table(
    "AlertKeys",
    (_s("Release"), _s("Name"), _s("Namespace"), _s("Level")),
    key=("Release", "Name", "Namespace", "Level"),
    description="Every alert key ever loaded per release: the set zero injection completes each run's alerts to. "
    "Written with the Alerts rows that bring a key, so an upload reads it instead of scanning Alerts.",
)
LOAD_PROBLEMS = Table(
    "LoadProblems",
    (
        _s("JobRunName"),
        _s("JobName"),
        _s("Uploader"),
        _s("Path"),
        _s("Reason"),
        _t("DetectedAt"),
        _t("JobRunStartTime", required=False),
    ),
    key=("JobRunName", "Uploader", "Path"),
    partition="DetectedAt",
    description="Artifacts that could not be parsed: reported, skipped, kept here so a gap is never silent.",
    time_column="DetectedAt",
)

TABLES: tuple[Table, ...] = (
    JOBS, JOB_RUNS, DISRUPTION_JOB_RUNS, ALERTS_JOB_RUNS, TEST_RUNS, BACKEND_DISRUPTION, ALERTS, ALERT_KEYS,
    LOAD_PROBLEMS,
)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """Return the definition of table `name` (KeyError names the known tables)."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES_BY_NAME)}") from None


@dataclass(frozen=True, slots=True)
class ColumnDiff:
    """How an existing table differs from its definition."""

    table: str
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    changed: tuple[str, ...]  # "Col: TYPE REQUIRED != expected TYPE NULLABLE"

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.changed)

    def __str__(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"missing columns {', '.join(self.missing)}")
        if self.extra:
            parts.append(f"unexpected columns {', '.join(self.extra)}")
        if self.changed:
            parts.append(f"changed columns {'; '.join(self.changed)}")
        return f"table {self.table}: " + "; ".join(parts)


def diff_columns(definition: Table, actual: list[tuple[str, str, bool]]) -> ColumnDiff:
    """Compare (name, BigQuery type, required) tuples read back from a warehouse with the definition."""
    have = {name: (typ, req) for name, typ, req in actual}
    missing = tuple(c.name for c in definition.columns if c.name not in have)
    extra = tuple(n for n in have if n not in definition.column_names)
    changed = []
    for c in definition.columns:
        if c.name in have and have[c.name] != (c.type, c.required):
            typ, req = have[c.name]
            changed.append(
                f"{c.name}: {typ} {'REQUIRED' if req else 'NULLABLE'} != expected "
                f"{c.type} {'REQUIRED' if c.required else 'NULLABLE'}"
            )
    return ColumnDiff(definition.name, missing, extra, tuple(changed))
