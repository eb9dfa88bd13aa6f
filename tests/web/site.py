"""The dashboard tests' data: the demo warehouse plus a job and a backend with hostile names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.pipeline.demo import run_demo
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

# Both end up inside HTML pages; they must show as text. The job is the only 4.14 gcp upgrade job, so its
# rows form their own percentile partition and leave every exported number of the demo unchanged.
HOSTILE_JOB = "periodic-ci-openshift-release-master-ci-4.14-e2e-gcp-ovn-upgrade-<script>alert(1)</script>"
HOSTILE_BACKEND = "<img src=x onerror=alert(2)>-new-connections"
HOSTILE_RUNS = 5  # under the demo's --min-job-runs 20: greyed, and absent from the export
DEMO_MIN_RUNS = 20  # run_demo's export threshold


@dataclass(frozen=True)
class Demo:
    directory: Path
    warehouse: Path
    bucket: Path
    now: datetime
    backend_file: Path
    alerts_file: Path

    @property
    def now_param(self) -> str:
        return self.now.isoformat()

    def open_warehouse(self) -> DuckDBWarehouse:
        return DuckDBWarehouse(self.warehouse, read_only=True)


def add_hostile_runs(path: Path, now: datetime) -> None:
    """Load a few runs of HOSTILE_JOB through the library (values travel as SQL parameters)."""
    runs = []
    rows = []
    for i in range(HOSTILE_RUNS):
        start = now - timedelta(days=1, hours=i)
        run = {"Name": f"99000000000000000{i}", "JobName": HOSTILE_JOB, "Status": "failure", "StartTime": start,
               "EndTime": start + timedelta(hours=2), "ReleaseTag": "4.14.0-0.ci-<b>tag</b>", "Cluster": "build01",
               "MasterNodesUpdated": "Y"}
        runs.append(run)
        for backend, seconds in (("openshift-api-new-connections", 10 * i), (HOSTILE_BACKEND, 7 + i)):
            rows.append({"BackendName": backend, "JobRunName": run["Name"], "DisruptionSeconds": seconds,
                         "JobName": HOSTILE_JOB, "JobRunStartTime": start, "JobRunEndTime": run["EndTime"],
                         "Cluster": "build01", "ReleaseTag": run["ReleaseTag"], "MasterNodesUpdated": "Y",
                         "JobRunStatus": "failure"})
    wh = DuckDBWarehouse(path)
    try:
        wh.load({"Jobs": [variant_for(HOSTILE_JOB).jobs_row()], "BackendDisruption_JobRuns": runs,
                 "BackendDisruption": rows})
    finally:
        wh.close()


def build_demo(directory: Path) -> Demo:
    """The demo pipeline into `directory` (about 10 s), then the hostile runs."""
    now = datetime.now(UTC).replace(microsecond=0)
    result = run_demo(directory, now=now, min_job_runs=DEMO_MIN_RUNS)
    add_hostile_runs(Path(result.warehouse), now)
    return Demo(directory, Path(result.warehouse), directory / "ci-artifacts", now, result.backend_file,
                result.alerts_file)
