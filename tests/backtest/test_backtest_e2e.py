"""The backtest on sample data: numbers equal a hand count of check-run verdicts; calibrated:0.01 meets its
false-failure target on unplanted data; planted +30 s steps are detected (issue 22)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.cli import app
from job_run_aggregator.history.results_file import render_query_results
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.jobs.primer import prime_job_table
from job_run_aggregator.pipeline.sample_data import generate_sample_data
from job_run_aggregator.warehouse.base import open_warehouse

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def build(root: Path, jobs: int, days: int, seed: int) -> str:
    summary = generate_sample_data(root / "bucket", jobs=jobs, days=days, now=NOW, seed=seed)
    url = f"duckdb:///{root / 'ci_data.duckdb'}"
    wh = open_warehouse(url)
    try:
        wh.create_tables()
        prime_job_table(wh, "\n".join(summary.job_names))
        upload(LocalBucket(root / "bucket"), wh, now=lambda: NOW)
    finally:
        wh.close()
    return url


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def by_name(report: dict) -> dict[str, dict]:
    return {r["Name"]: r for r in report["RuleSets"]}


def test_current_numbers_equal_a_hand_count_of_check_run(tmp_path: Path) -> None:
    url = build(tmp_path, jobs=3, days=18, seed=5)
    start, end = NOW - timedelta(days=3), NOW
    result = run("--warehouse", url, "backtest", "--rules", "current,2022,calibrated:0.05", "--from", start.isoformat(),
                 "--to", end.isoformat(), "--step", "3d", "--window", "14d", "--min-job-runs", "20", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [s["Start"] for s in report["Steps"]] == ["2026-11-25T00:00:00Z"]

    # The history the backtest used, made by hand: export-historical-data for each release, the rows together.
    rows = []
    for release in ("4.14", "4.13"):
        out = tmp_path / f"export-{release}.json"
        exported = run("--warehouse", url, "export-historical-data", "--release", release, "--now", start.isoformat(),
                       "--days", "14", "--min-job-runs", "20", "--out", str(out))
        assert exported.exit_code == 0, exported.output
        rows += json.loads(out.read_text())
    data = tmp_path / "history.json"
    data.write_bytes(render_query_results(rows))
    assert report["Steps"][0]["HistoryRows"] == len(rows) > 0

    # Every run started in the step that has disruption rows, judged by check-run.
    wh = open_warehouse(url, read_only=True)
    try:
        judged_runs = wh.query(
            "SELECT DISTINCT JobName, JobRunName FROM BackendDisruption WHERE JobRunStartTime >= @start "
            "AND JobRunStartTime < @end ORDER BY JobRunName", {"start": start, "end": end})
    finally:
        wh.close()
    assert len(judged_runs) >= 10
    calibration = tmp_path / "calibration.json"
    exported = run("--warehouse", url, "export-calibration", "--target", "0.05", "--now", start.isoformat(),
                   "--days", "14", "--min-job-runs", "20", "--out", str(calibration))
    assert exported.exit_code == 0, exported.output
    assert any(row["Allowance"] is not None for row in json.loads(calibration.read_text()))
    assert {row["StepSeconds"] for row in json.loads(calibration.read_text())} == {"30"}
    negative = run("--warehouse", url, "export-calibration", "--target", "0.05", "--seconds", "-1", "--now",
                   start.isoformat())
    assert negative.exit_code == 2
    assert "export-calibration --seconds -1: must be a positive number of seconds" in negative.output
    for rules in ("current", "2022", "calibrated:0.05"):
        extra = ("--calibration", str(calibration)) if rules.startswith("calibrated") else ()
        counts = {"pass": 0, "fail": 0, "flake": 0, "skip": 0}
        runs_judged = 0
        for row in judged_runs:
            folder = tmp_path / "bucket" / "logs" / row["JobName"] / row["JobRunName"]
            checked = run("check-run", "--data", str(data), "--run", str(folder), "--rules", rules,
                          "--min-job-runs", "20", "--json", *extra)
            assert checked.exit_code in (0, 1), checked.output
            verdicts = json.loads(checked.stdout)
            for v in verdicts:
                counts[v["status"]] += 1
            runs_judged += any(v["status"] != "skip" for v in verdicts)
        mine = by_name(report)[rules]
        assert mine["Judged"] == counts["pass"] + counts["fail"] + counts["flake"], rules
        assert mine["Failed"] == counts["fail"], rules
        assert mine["Skipped"] == counts["skip"], rules
        assert mine["Runs"] == runs_judged, rules
        assert mine["FalseFailures"] == counts["fail"] and mine["Planted"] == 0
    assert by_name(report)["current"]["Judged"] > 0
    assert by_name(report)["calibrated:0.05"]["Failed"] != by_name(report)["current"]["Failed"]  # not a copy

    folder = tmp_path / "bucket" / "logs" / judged_runs[0]["JobName"] / judged_runs[0]["JobRunName"]
    missing = run("check-run", "--data", str(data), "--run", str(folder), "--rules", "calibrated:0.05")
    assert missing.exit_code == 2
    assert "--rules calibrated:0.05 needs --calibration FILE (written by export-calibration)" in missing.output
    unused = run("check-run", "--data", str(data), "--run", str(folder), "--calibration", str(calibration))
    assert unused.exit_code == 2
    assert "--calibration is only used with --rules calibrated:TARGET, not 'current'" in unused.output
    broken = tmp_path / "broken.json"
    broken.write_text('[{"BackendName": "x"}]')
    bad = run("check-run", "--data", str(data), "--run", str(folder), "--rules", "calibrated:0.05",
              "--calibration", str(broken))
    assert bad.exit_code == 3
    assert f"{broken}: row 0: expected BackendName or AlertName, the six JobType columns" in bad.output


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Six jobs over 14 weeks: 12 weeks of tails for calibrated:0.01 before two judged weeks."""
    return build(tmp_path_factory.mktemp("quarter"), jobs=6, days=98, seed=3)


def backtest_json(url: str, *args: str) -> dict:
    result = run("--warehouse", url, "backtest", "--from", (NOW - timedelta(days=14)).isoformat(),
                 "--to", NOW.isoformat(), "--step", "7d", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_calibrated_meets_its_false_failure_target_on_unplanted_data(quarter: str) -> None:
    report = by_name(backtest_json(quarter, "--rules", "current,calibrated:0.01,calibrated:0.05"))
    one = report["calibrated:0.01"]
    assert one["Unplanted"] > 5000 and one["Planted"] == 0
    # Measured 0.64 % [0.50, 0.82]: at most its target (the pooled budget spends only false failures that buy
    # detection, so it leaves some of it unspent on this data), and not a rule that never fails.
    assert one["FalseFailureRateCI"][0] <= 0.01 and one["FalseFailureRate"] <= 0.01
    assert one["FalseFailureRate"] > 0.002
    five = report["calibrated:0.05"]
    assert five["FalseFailureRateCI"][0] <= 0.05 and five["FalseFailureRate"] > one["FalseFailureRate"]
    assert one["Skipped"] == report["current"]["Skipped"]  # the same matches: only the allowance differs


@pytest.mark.slow
def test_planted_steps_are_detected(quarter: str) -> None:
    report = by_name(backtest_json(quarter, "--rules", "current,calibrated:0.01,calibrated:0.02", "--plant", "30:0.05",
                                   "--seed", "4"))
    current, one, two = report["current"], report["calibrated:0.01"], report["calibrated:0.02"]
    assert current["Planted"] == one["Planted"] == two["Planted"] > 300  # the same pairs under every rule set
    # The criterion: calibrated:0.01 detects at least as many +30 s steps as today's rules (measured: 95.1 %
    # vs 86.8 %; seeds 1, 2, 3, 5, 6 give 93.6-95.7 % vs 85.2-88.2 %), at a false-failure rate within its 1 %.
    # Today's rules fail 1.1-1.5 % of healthy runs in the heavy-tailed upgrade variants and 0 % in the quiet ones;
    # the pooled budget spends where a step is hard to see too, but on the steps it can buy, capped at 3 %.
    assert one["Detected"] >= current["Detected"] and one["DetectionRate"] >= current["DetectionRate"]
    assert one["FalseFailureRateCI"][0] <= 0.01 and one["FalseFailureRate"] <= 0.01
    assert two["Detected"] >= one["Detected"] and two["FalseFailureRateCI"][0] <= 0.02
    variants = {v["Variant"]: v for v in current["ByVariant"]}
    assert max(v["FalseFailureRate"] for v in variants.values()) > 0.01  # what the per-variant breakdown shows
    capped = {v["Variant"]: v for v in one["ByVariant"]}
    assert max(v["FalseFailureRate"] for v in capped.values()) <= 0.03 + 0.01  # the per-cell cap, plus noise


@pytest.mark.slow
def test_alerts_are_backtested_too(quarter: str) -> None:
    report = backtest_json(quarter, "--data-type", "alerts", "--rules", "current,calibrated:0.01", "--min-job-runs",
                           "20")
    assert report["DataType"] == "alerts"
    rule_sets = by_name(report)
    assert rule_sets["current"]["Judged"] > 1000 and rule_sets["current"]["Skipped"] == 0
    assert all(step["HistoryRows"] > 0 for step in report["Steps"])
    assert rule_sets["calibrated:0.01"]["FalseFailureRateCI"][0] <= 0.01
