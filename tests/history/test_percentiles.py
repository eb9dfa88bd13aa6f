"""The historical percentile query (DESIGN §7) on fixture rows, on DuckDB and the BigQuery emulator: same SQL text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from job_run_aggregator.history.percentiles import ALERTS, DISRUPTIONS, HistoryQuery, export_historical_data, historical_rows
from job_run_aggregator.history.results_file import read_query_results

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)  # the `tables` fixture's default `now`
AWS = "4.14/4.13 aws amd64 ovn ha"
GCP = "4.14/- gcp amd64 sdn ha"


def numpy_percentile(values: list[int], p: int) -> float:
    return float(np.percentile(np.array(values, dtype=float), p, method="linear"))


def by_variant(rows: list[dict]) -> dict[tuple, dict]:
    return {(r.get("BackendName") or r["AlertName"], r["Platform"], r["Architecture"],
             r.get("MasterNodesUpdated")): r for r in rows}


def test_percentiles_equal_numpy_linear(warehouse, tables) -> None:
    rng = np.random.default_rng(7)
    samples = {}
    for variant, n in ((AWS, 37), (GCP, 53)):
        job = tables.job(variant)
        for backend in ("kube-api-new-connections", "ingress-to-console-reused-connections"):
            # Mostly zero with a long tail, like real disruption: interpolation between distinct values matters.
            values = [int(v) for v in rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 13, 40, 121], size=n)]
            tables.disruption(job, backend, values)
            samples[(backend, variant.split()[1])] = values
    tables.load(warehouse)
    q = HistoryQuery(DISRUPTIONS, now=NOW, min_job_runs=1, percentiles=(50, 75, 95, 99))
    rows = historical_rows(warehouse, q)
    assert len(rows) == 4
    for row in rows:
        values = samples[(row["BackendName"], row["Platform"])]
        assert row["JobRuns"] == len(values)
        for p in (50, 75, 95, 99):
            assert row[f"P{p}"] == pytest.approx(numpy_percentile(values, p), rel=1e-12, abs=1e-12), (row, p)


def test_architectures_share_percentiles_unless_partitioned(warehouse, tables) -> None:
    amd64 = tables.job("4.14/4.14 aws amd64 ovn ha")
    arm64 = tables.job("4.14/4.14 aws arm64 ovn ha")
    small, large = [0, 1, 2, 3, 4, 5] * 4, [50, 60, 70, 80, 90, 100, 110]
    tables.disruption(amd64, "kube-api-new-connections", small)
    tables.disruption(arm64, "kube-api-new-connections", large)
    tables.load(warehouse)

    quirk = by_variant(historical_rows(warehouse, HistoryQuery(now=NOW, min_job_runs=1)))
    both = small + large
    for arch, values in (("amd64", small), ("arm64", large)):
        row = quirk[("kube-api-new-connections", "aws", arch, None)]
        # The real query partitions without Architecture: each row carries the percentiles of both architectures.
        assert row["JobRuns"] == len(values)
        assert row["P95"] == pytest.approx(numpy_percentile(both, 95), rel=1e-12)
        assert row["P99"] == pytest.approx(numpy_percentile(both, 99), rel=1e-12)

    fixed = by_variant(historical_rows(warehouse, HistoryQuery(now=NOW, min_job_runs=1,
                                                               partition_by_architecture=True)))
    for arch, values in (("amd64", small), ("arm64", large)):
        row = fixed[("kube-api-new-connections", "aws", arch, None)]
        assert row["JobRuns"] == len(values)
        assert row["P95"] == pytest.approx(numpy_percentile(values, 95), rel=1e-12)
        assert row["P99"] == pytest.approx(numpy_percentile(values, 99), rel=1e-12)
    assert fixed[("kube-api-new-connections", "aws", "amd64", None)]["P99"] < 6
    assert fixed[("kube-api-new-connections", "aws", "arm64", None)]["P99"] > 100


@pytest.mark.parametrize(
    ("min_job_runs", "kept"),
    [
        pytest.param(None, {100, 101}, id="default-100"),
        pytest.param(101, {101}, id="101"),
        pytest.param(99, {99, 100, 101}, id="99"),
    ],
)
def test_min_job_runs_keeps_groups_with_at_least_that_many(warehouse, tables,
                                                           min_job_runs: int | None, kept: set[int]) -> None:
    for platform, n in (("aws", 99), ("gcp", 100), ("azure", 101)):
        tables.disruption(tables.job(f"4.14/- {platform} amd64 ovn ha"), "kube-api-new-connections", [1] * n)
    tables.load(warehouse)
    rows = historical_rows(warehouse, HistoryQuery(now=NOW, min_job_runs=min_job_runs))
    assert {r["JobRuns"] for r in rows} == kept


# A window crossing the end of daylight saving time in Berlin (2026-10-25): 21 days of wall-clock time there are
# 21×24 h + 1 h, so the edge shows whether the window is counted in UTC.
EDGE_NOW = datetime(2026, 11, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("zone", [pytest.param(timezone.utc, id="utc"),
                                  pytest.param(ZoneInfo("Europe/Berlin"), id="berlin-across-dst")])
@pytest.mark.parametrize(("data_type", "days"), [pytest.param(DISRUPTIONS, 21, id="disruptions-21d"),
                                                 pytest.param(ALERTS, 7, id="alerts-7d")])
def test_window_is_start_inclusive_end_exclusive(warehouse, tables, zone, data_type: str,
                                                 days: int) -> None:
    job = tables.job(AWS)
    start = EDGE_NOW - timedelta(hours=24 * days)
    edges = {
        "at-start": start,
        "one-microsecond-before-start": start - timedelta(microseconds=1),
        "one-microsecond-before-now": EDGE_NOW - timedelta(microseconds=1),
        "at-now": EDGE_NOW,
    }
    for name, when in edges.items():
        if data_type == DISRUPTIONS:
            tables.disruption(job, name, [3], start=when)
        else:
            tables.alert_run(job, [(name, "openshift-etcd", "Warning", 3)], start=when)
    tables.load(warehouse)
    q = HistoryQuery(data_type, now=EDGE_NOW.astimezone(zone), min_job_runs=1)
    assert q.window == (start, EDGE_NOW)
    names = {r[q.name_column] for r in historical_rows(warehouse, q)}
    assert names == {"at-start", "one-microsecond-before-now"}


def test_alert_seconds_are_summed_per_run_and_name(warehouse, tables) -> None:
    job = tables.job(AWS)
    per_run = []
    for i in range(12):
        # One alert name fires in two namespaces and at two levels: the query sees one value per run and name.
        a, b = i * 3, (i * 7) % 11
        tables.alert_run(job, [("etcdMembersDown", "openshift-etcd", "Warning", a),
                               ("etcdMembersDown", "openshift-etcd-operator", "Critical", b),
                               ("KubeClientErrors", "openshift-kube-apiserver", "Warning", 100 + i)],
                         start=NOW - timedelta(days=2, minutes=i))
        per_run.append(a + b)
    tables.load(warehouse)
    rows = historical_rows(warehouse, HistoryQuery(ALERTS, now=NOW))
    assert sorted(r["AlertName"] for r in rows) == ["KubeClientErrors", "etcdMembersDown"]
    etcd = next(r for r in rows if r["AlertName"] == "etcdMembersDown")
    assert etcd["JobRuns"] == 12
    assert etcd["P95"] == pytest.approx(numpy_percentile(per_run, 95), rel=1e-12)
    assert etcd["P99"] == pytest.approx(numpy_percentile(per_run, 99), rel=1e-12)
    only = historical_rows(warehouse, HistoryQuery(ALERTS, now=NOW, alert_names=("etcdMembersDown",)))
    assert [r["AlertName"] for r in only] == ["etcdMembersDown"]


def test_extra_percentiles_and_master_nodes_split_in_origins_column_order(warehouse, tables,
                                                                          reference) -> None:
    job = tables.job("4.14/- aws amd64 ovn ha")
    updated, not_updated = [0, 2, 4, 6, 8, 10, 30], [1, 1, 1, 1, 2]
    tables.disruption(job, "kube-api-new-connections", updated, masters="Y")
    tables.disruption(job, "kube-api-new-connections", not_updated, masters="N")
    tables.load(warehouse)
    q = HistoryQuery(now=NOW, min_job_runs=1, percentiles=(50, 75, 95, 99), split_master_nodes_updated=True)
    rows = historical_rows(warehouse, q)
    assert [list(r) for r in rows] == [[
        "BackendName", "Release", "FromRelease", "Platform", "Architecture", "Network", "Topology",
        "MasterNodesUpdated", "JobRuns", "P95", "P99", "P75", "P50",
    ]] * 2
    for row in rows:
        values = updated if row["MasterNodesUpdated"] == "Y" else not_updated
        assert row["JobRuns"] == len(values)
        assert [row[f"P{p}"] for p in (95, 99, 75, 50)] == pytest.approx(
            [numpy_percentile(values, p) for p in (95, 99, 75, 50)], rel=1e-12)
    data, n = export_historical_data(warehouse, q, "4.14")
    exported = read_query_results(data, "export")
    origin = read_query_results((reference / "backend_query_results_2025-current.json").read_bytes(), "2025")
    assert n == 2 and [list(r) for r in exported] == [list(origin[0])] * 2
    assert [r["MasterNodesUpdated"] for r in exported] == ["N", "Y"]


@pytest.mark.parametrize("q", [
    pytest.param(HistoryQuery(DISRUPTIONS, now=NOW, min_job_runs=1), id="disruptions"),
    pytest.param(HistoryQuery(DISRUPTIONS, now=NOW, min_job_runs=30, percentiles=(50, 75, 95, 99)), id="min-30-p50"),
    pytest.param(HistoryQuery(DISRUPTIONS, now=NOW, min_job_runs=1, partition_by_architecture=True), id="by-arch"),
    pytest.param(HistoryQuery(DISRUPTIONS, now=NOW, min_job_runs=1, split_master_nodes_updated=True), id="masters"),
    pytest.param(HistoryQuery(DISRUPTIONS, now=NOW, min_job_runs=1, release="4.13"), id="release"),
    pytest.param(HistoryQuery(ALERTS, now=NOW), id="alerts"),
    pytest.param(HistoryQuery(ALERTS, now=NOW, alert_names=("etcdNoLeader",), split_master_nodes_updated=True),
                 id="alerts-named-masters"),
])
def test_the_grouped_form_gives_the_rows_of_the_analytic_form_exactly(duckdb_url, tables, q) -> None:
    from job_run_aggregator.history.percentiles import percentile_params, percentile_sql
    from job_run_aggregator.warehouse.base import open_warehouse

    rng = np.random.default_rng(11)
    for variant in (AWS, GCP, "4.14/4.14 aws arm64 ovn ha", "4.13/- aws amd64 ovn single", "4.13/4.12 azure amd64 sdn ha"):
        job = tables.job(variant)
        for backend in ("kube-api-new-connections", "oauth-api-reused-connections", "image-registry-new"):
            for masters in ("Y", "N"):
                values = rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 13, 40, 121, 7777], size=int(rng.integers(5, 60)))
                tables.disruption(job, backend, [int(v) for v in values], masters=masters)
        for _ in range(int(rng.integers(3, 40))):
            tables.alert_run(job, [(name, ns, "Warning", int(rng.integers(0, 5000)))
                                   for name in ("etcdNoLeader", "KubeClientErrors")
                                   for ns in ("openshift-etcd", "openshift-kube-apiserver") if rng.random() < 0.7])
    warehouse = open_warehouse(duckdb_url)
    tables.load(warehouse)
    analytic = warehouse.query(percentile_sql(q, grouped=False), percentile_params(q))
    grouped = warehouse.query(percentile_sql(q, grouped=True), percentile_params(q))
    assert analytic, "the case must produce rows"
    assert grouped == analytic  # same rows, same order, bit-identical floats
    assert warehouse.capabilities.percentile_aggregate  # so DuckDB's exports take the grouped form
