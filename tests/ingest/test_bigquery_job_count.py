"""BigQuery jobs per upload cycle (issue 21): a cycle's rows go in batches across jobs, not job by job.

Real BigQuery takes 1-3 s per job however small, and back-to-back DML on one table meets its update-rate limit, so
the number of jobs a cycle starts is its cost. The goal: at most 3 per table plus 5, for a cycle of up to 5,000 runs,
however many jobs they belong to.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from faults.workspace import cli_env, run_cli

from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.schema import TABLES

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.mark.emulator
@pytest.mark.slow
def test_100_jobs_with_2_new_runs_each_cost_at_most_3_bigquery_jobs_per_table_plus_5(bigquery_emulator, tmp_path):
    bucket, names = tmp_path / "bucket", tmp_path / "jobs.txt"
    sample = generate_sample_data(bucket, jobs=100, days=1, seed=5, now=NOW, runs_per_day=(2, 2))
    names.write_text("".join(f"{n}\n" for n in sample_job_names(100)))
    assert sample.jobs == 100 and sample.runs == 200
    url = f"bigquery://test-project/n_{uuid.uuid4().hex[:10]}"
    env = cli_env(BIGQUERY_EMULATOR_HOST=bigquery_emulator)
    for args in (("create-tables",), ("prime-job-table", "--job-names-file", str(names))):
        done = run_cli("--warehouse", url, *args, env=env)
        assert done.returncode == 0, done.stderr
    done = run_cli("--warehouse", url, "--bucket", str(bucket), "upload-all", "--json", env=env, timeout=1800)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["loaded"] + summary["unfinished"] == 200
    assert summary["bigquery_jobs"] <= 3 * len(TABLES) + 5, summary["bigquery_jobs"]
    # One commit per job (before the batching loader) cost 2 jobs per table for each of the 100 jobs: ~1,400.
    print(f"100 jobs x 2 new runs: {summary['bigquery_jobs']} BigQuery jobs (limit {3 * len(TABLES) + 5})")
