"""The backtest's and calibrated preset's SQL on every warehouse (DuckDB, and BigQuery on the emulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from job_run_aggregator.backtest.runner import read_observed
from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS, HistoryQuery
from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.matching.calibrated import Tail, read_tails

NOW = datetime(2026, 11, 28, tzinfo=UTC)
AMD = "periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn-upgrade"
ARM = "periodic-ci-openshift-multiarch-master-nightly-4.14-ocp-e2e-aws-ovn-arm64-upgrade"


def denormalised(run: str, job: str, start: datetime) -> dict:
    return {"JobRunName": run, "JobName": job, "JobRunStartTime": start, "JobRunEndTime": start + timedelta(hours=2),
            "Cluster": "build01", "ReleaseTag": "", "MasterNodesUpdated": "Y", "JobRunStatus": "success"}


def test_tails_and_observed_runs(warehouse) -> None:
    warehouse.create_tables()
    disruption, alerts = [], []
    for i in range(30):
        job = AMD if i % 2 else ARM  # one cell: the partition has no Architecture, as the export's
        start = NOW - timedelta(days=10) + timedelta(hours=5 * i)
        run = f"{3000 + i}"
        disruption.append({**denormalised(run, job, start), "BackendName": "b", "DisruptionSeconds": i})
        for namespace in ("ns1", "ns2"):  # an alert's namespaces are summed per run, as the export does
            alerts.append({**denormalised(run, job, start), "Name": "A", "Namespace": namespace, "Level": "Warning",
                           "AlertSeconds": i})
    for i, seconds in enumerate((123_456_789, 7, 0, 0)):  # the values come back exactly (joined as text)
        start = NOW - timedelta(days=10) + timedelta(hours=5 * i)
        job = AMD if i % 2 else ARM  # the runs of backend b above
        disruption.append({**denormalised(f"{3000 + i}", job, start), "BackendName": "c", "DisruptionSeconds": seconds})
    old = NOW - timedelta(days=100)  # beyond the 84-day tail window
    disruption.append({**denormalised("0001", AMD, old), "BackendName": "b", "DisruptionSeconds": 999})
    warehouse.load({"Jobs": [variant_for(AMD).jobs_row(), variant_for(ARM).jobs_row()],
                    "BackendDisruption": disruption, "Alerts": alerts})
    q = HistoryQuery(data_type=DISRUPTIONS, now=NOW)
    tails = read_tails(warehouse, q, depth=3)
    assert tails == {("b", "4.14", "4.14", "aws", "ovn", "ha"): Tail(30, (29.0, 28.0, 27.0)),
                     ("c", "4.14", "4.14", "aws", "ovn", "ha"): Tail(4, (123456789.0, 7.0, 0.0))}
    assert read_tails(warehouse, q, depth=9)[("c", "4.14", "4.14", "aws", "ovn", "ha")] == Tail(4, (123456789.0, 7.0,
                                                                                                  0.0, 0.0))
    assert read_tails(warehouse, q, depth=3, days=None) == tails  # the export's own 21 days hold the same runs
    assert read_tails(warehouse, q, depth=3, days=120)[("b", "4.14", "4.14", "aws", "ovn", "ha")] == Tail(
        31, (999.0, 29.0, 28.0))
    alert_tails = read_tails(warehouse, HistoryQuery(data_type=ALERTS, now=NOW), depth=2)
    assert alert_tails == {("A", "4.14", "4.14", "aws", "ovn", "ha"): Tail(30, (58.0, 56.0))}

    observed, jobs = read_observed(warehouse, DISRUPTIONS, NOW - timedelta(days=10), NOW - timedelta(days=9))
    assert observed == {"3000": {("b", "", ""): 0.0, ("c", "", ""): 123456789.0},
                        "3001": {("b", "", ""): 1.0, ("c", "", ""): 7.0}, "3002": {("b", "", ""): 2.0, ("c", "", ""): 0.0},
                        "3003": {("b", "", ""): 3.0, ("c", "", ""): 0.0}, "3004": {("b", "", ""): 4.0}}
    assert jobs["3001"] == AMD and jobs["3000"] == ARM
    observed, _ = read_observed(warehouse, ALERTS, NOW - timedelta(days=10), NOW - timedelta(days=10, hours=-1))
    assert observed == {"3000": {("A", "ns1", "Warning"): 0.0, ("A", "ns2", "Warning"): 0.0}}
