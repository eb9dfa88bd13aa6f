"""`regressions` end to end: sample data with planted steps → upload → DuckDB → the command's JSON and table.

Also measures the false-positive rate on the sample's unplanted series (the issue's ≤ 5% goal).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.cli import app
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.pipeline.sample_data import PlantedRegression, generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAYS = 42
JOBS = 12
# Steps of several sizes on quiet and busy backends (job names are the sample's; see sample_job_names(12)).
PLANTS = (
    PlantedRegression("kube-api-new-connections", "periodic-ci-openshift-release-master-nightly-4.13-e2e-gcp-sdn",
                      NOW - timedelta(days=14, hours=5), 30),
    PlantedRegression("openshift-api-reused-connections",
                      "periodic-ci-openshift-release-master-nightly-4.14-e2e-vsphere-ovn", NOW - timedelta(days=25), 5),
    PlantedRegression("image-registry-new-connections",
                      "periodic-ci-openshift-release-master-ci-4.14-e2e-azure-ovn-upgrade", NOW - timedelta(days=9), 60),
)
IMPROVEMENT = PlantedRegression("kube-api-new-connections",
                                "periodic-ci-openshift-release-master-ci-4.14-e2e-aws-upgrade-ovn-single-node",
                                NOW - timedelta(days=12), -100_000)


@dataclass(frozen=True)
class Sample:
    warehouse: Path

    def run(self, *args: str):
        return CliRunner().invoke(app, ["--warehouse", f"duckdb:///{self.warehouse}", "regressions",
                                        "--now", NOW.isoformat(), *args])

    def first_run_after(self, plant: PlantedRegression) -> dict:
        """The planted job's first run with this backend's row at or after the plant's time."""
        wh = DuckDBWarehouse(self.warehouse, read_only=True)
        try:
            (row,) = wh.query(
                "SELECT JobName, JobRunName, ReleaseTag, JobRunStartTime AS StartTime FROM BackendDisruption "
                "WHERE JobName = @job AND BackendName = @backend AND JobRunStartTime >= @since "
                "ORDER BY JobRunStartTime, JobRunName LIMIT 1",
                {"job": plant.job, "backend": plant.backend, "since": plant.since})
        finally:
            wh.close()
        return row


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("regressions")
    assert {p.job for p in (*PLANTS, IMPROVEMENT)} <= set(sample_job_names(JOBS))
    generate_sample_data(root / "bucket", jobs=JOBS, days=DAYS, seed=1, now=NOW,
                         plant_regressions=(*PLANTS, IMPROVEMENT))
    wh = DuckDBWarehouse(root / "ci_data.duckdb")
    try:
        wh.create_tables()
        prime_job_table(wh, "".join(f"{n}\n" for n in sample_job_names(JOBS)))
        upload(LocalBucket(root / "bucket"), wh, workers=2, now=lambda: NOW)
    finally:
        wh.close()
    return Sample(root / "ci_data.duckdb")


def series_of(plant: PlantedRegression) -> tuple[str, ...]:
    v = variant_for(plant.job)
    return (plant.backend, v.release, v.from_release, v.platform, v.architecture, v.network, v.topology)


def key_of(item: dict) -> tuple[str, ...]:
    return tuple(item[c] for c in ("Name", "Release", "FromRelease", "Platform", "Architecture", "Network",
                                   "Topology"))


def test_planted_steps_are_found_with_their_time_and_first_run(sample: Sample) -> None:
    result = sample.run("--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert all(i["Direction"] == "regression" for i in items)
    severities = [i["Severity"] for i in items]
    assert severities == sorted(severities, reverse=True)
    by_key = {key_of(i): i for i in items}
    for plant in PLANTS:
        item = by_key.get(series_of(plant))
        assert item is not None, f"planted {plant} not reported; got {[key_of(i) for i in items]}"
        changed = datetime.fromisoformat(item["ChangeTime"])
        assert item["ChangeTime"].endswith("Z") and abs(changed - plant.since) <= timedelta(days=1)
        expected = sample.first_run_after(plant)
        assert item["FirstRun"] == {"JobName": plant.job, "JobRunName": expected["JobRunName"],
                                    "ReleaseTag": expected["ReleaseTag"] or ""}
        assert changed == expected["StartTime"]
        assert item["After"]["P50"] - item["Before"]["P50"] >= plant.seconds * 0.8
        assert item["PValue"] < 1e-4 and item["DataType"] == "disruptions"
        assert set(item["Before"]) == set(item["After"]) == {"Runs", "P50", "P95", "P99"}


def test_false_positive_rate_on_unplanted_series_is_at_most_five_percent(sample: Sample) -> None:
    result = sample.run("--json", "--improvements")
    assert result.exit_code == 0, result.output
    analysed = int(result.stderr.split("regressions: ")[1].split(" series")[0])
    planted = {series_of(p) for p in (*PLANTS, IMPROVEMENT)}
    false = {key_of(i) for i in json.loads(result.stdout)} - planted
    rate = len(false) / (analysed - len(planted))
    print(f"false-positive rate: {len(false)} of {analysed - len(planted)} unplanted series = {rate:.1%}")
    assert analysed > 200 and rate <= 0.05


def test_improvements_only_with_the_flag(sample: Sample) -> None:
    items = json.loads(sample.run("--json", "--improvements").stdout)
    improvement = next(i for i in items if key_of(i) == series_of(IMPROVEMENT))
    assert improvement["Direction"] == "improvement" and improvement["After"]["P50"] == 0.0
    assert abs(datetime.fromisoformat(improvement["ChangeTime"]) - IMPROVEMENT.since) <= timedelta(days=1)
    assert series_of(IMPROVEMENT) not in {key_of(i) for i in json.loads(sample.run("--json").stdout)}


def test_the_table_and_the_empty_answer_exit_zero(sample: Sample) -> None:
    table = sample.run("--release", "4.13")
    assert table.exit_code == 0, table.output
    assert re.search(r"^worse +kube-api-new-connections +4\.13 gcp amd64 sdn ha +\d{4}-\d\d-\d\d \d\d:\d\d ",
                     table.stdout, re.MULTILINE), table.stdout
    quiet = sample.run("--release", "4.9")
    assert quiet.exit_code == 0 and "0 series with ≥ 20 runs" in quiet.stdout and "no significant change" in quiet.stdout
    assert json.loads(sample.run("--release", "4.9", "--json").stdout) == []


def test_bad_options_are_one_line_errors(sample: Sample) -> None:
    result = sample.run("--data-type", "tests")
    assert result.exit_code == 2 and "error: --data-type 'tests': choose disruptions or alerts" in result.stderr
