"""--plant-regression: parsing, checks, and that only the planted runs' last disruption files change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.artifacts.parse.disruption import parse_disruption_file
from job_run_aggregator.cli import app
from job_run_aggregator.errors import ConfigError
from job_run_aggregator.pipeline.sample_data import PlantedRegression, generate_sample_data, parse_planted_regression

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
JOB = "periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade"  # 2 phases


def test_parse_accepts_dates_and_date_times() -> None:
    plant = parse_planted_regression(f"kube-api-new-connections:{JOB}:2026-11-20:30")
    assert plant == PlantedRegression("kube-api-new-connections", JOB, datetime(2026, 11, 20, tzinfo=UTC), 30.0)
    later = parse_planted_regression(f"kube-api-new-connections:{JOB}:2026-11-20T06:30:00Z:-2.5")
    assert (later.since, later.seconds) == (datetime(2026, 11, 20, 6, 30, tzinfo=UTC), -2.5)


@pytest.mark.parametrize("text", ["", "a:b", f"kube-api-new-connections:{JOB}:2026-11-20",
                                  f"kube-api-new-connections:{JOB}:yesterday:30",
                                  f"kube-api-new-connections:{JOB}:2026-11-20:lots",
                                  f"kube-api-new-connections:{JOB}:2026-11-20:nan", f":{JOB}:2026-11-20:3"])
def test_parse_rejects_malformed_text_with_the_usage(text: str) -> None:
    with pytest.raises(ConfigError, match="give BACKEND:JOB:DATE:SECONDS"):
        parse_planted_regression(text)


def test_unknown_backend_or_job_is_a_config_error_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate-sample-data", "--out", str(tmp_path), "--jobs", "1", "--days", "1",
                                      "--plant-regression", "no-such-backend:x:2026-11-20:3"])
    assert result.exit_code == 2 and "backend 'no-such-backend' is not in the sample data" in result.stderr
    with pytest.raises(ConfigError, match="job 'nope' is not among the generated jobs"):
        generate_sample_data(tmp_path, jobs=1, days=1, now=NOW, plant_regressions=[
            PlantedRegression("kube-api-new-connections", "nope", NOW, 3)])


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_only_the_planted_runs_last_disruption_file_changes_by_exactly_the_seconds(tmp_path: Path) -> None:
    since = NOW - timedelta(days=1)
    generate_sample_data(tmp_path / "plain", jobs=2, days=3, now=NOW)
    generate_sample_data(tmp_path / "planted", jobs=2, days=3, now=NOW, plant_regressions=[
        PlantedRegression("kube-api-new-connections", JOB, since, 30)])
    plain, planted = files(tmp_path / "plain"), files(tmp_path / "planted")
    assert plain.keys() == planted.keys()
    changed = sorted(k for k in plain if plain[k] != planted[k])
    assert changed and all(k.startswith(f"logs/{JOB}/") and "backend-disruption_" in k for k in changed)
    runs = {k.split("/")[2] for k in changed}
    for run in runs:
        prowjob = json.loads(planted[f"logs/{JOB}/{run}/prowjob.json"])
        assert datetime.fromisoformat(prowjob["status"]["startTime"]) >= since
        disruption = sorted(k for k in plain if k.startswith(f"logs/{JOB}/{run}/") and "backend-disruption_" in k)
        assert len(disruption) == 2 and [k for k in changed if k.startswith(f"logs/{JOB}/{run}/")] == disruption[-1:]
        before = parse_disruption_file(plain[disruption[-1]], disruption[-1])
        after = parse_disruption_file(planted[disruption[-1]], disruption[-1])
        assert after["kube-api-new-connections"] == pytest.approx(before["kube-api-new-connections"] + 30)
        assert {k: v for k, v in after.items() if k != "kube-api-new-connections"} == \
               {k: v for k, v in before.items() if k != "kube-api-new-connections"}
