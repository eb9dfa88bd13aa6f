"""Listing a run's objects with matchGlob (issue 16): one list request per run where the server honours it, the
same rows whether the server honours, ignores (fake-gcs-server) or refuses it, and never a glob built from a job
name holding glob characters."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from artifacts.buckets.glob_proxy import GlobProxy
from ingest.upload_model import prepare_warehouse, warehouse_tables

from job_run_aggregator.artifacts.buckets.gcs import GCSBucket, glob_regex
from job_run_aggregator.artifacts.runs import KINDS, wanted_glob, wanted_object
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.pipeline.sample_data import ArtifactShape, generate_sample_data, sample_job_names
from job_run_aggregator.pipeline.sample_data.plan import plan_runs
from job_run_aggregator.pipeline.sample_data.render import render_run

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BUCKET = "test-platform-results"


def test_the_glob_covers_every_wanted_object_and_skips_the_noise() -> None:
    runs, _, _ = plan_runs(jobs=6, days=2, seed=3, now=NOW, malformed=1)
    checked = 0
    for run in runs:
        prefix = f"logs/{run.job.name}/{run.build_id}/"
        pattern = glob_regex(wanted_glob(prefix))
        for relative, _ in render_run(run, 3, ArtifactShape(junit_cases=5, noise_objects=40)):
            path = prefix + relative
            if wanted_object(path, prefix, KINDS, True):
                assert pattern.fullmatch(path), path
                checked += 1
            elif relative.endswith(".log"):
                assert not pattern.fullmatch(path), path
    assert checked > 100


@pytest.mark.parametrize(("glob", "path", "matches"), [
    ("a/**x.json", "a/x.json", True),
    ("a/**x.json", "a/b/c/x.json", True),
    ("a/*.json", "a/b/x.json", False),
    ("a/?.json", "a/x.json", True),
    ("a/{b,c*}.json", "a/cd.json", True),
    ("a/{b,c*}.json", "a/d.json", False),
    ("a/[xy].json", "a/y.json", True),
    ("a.b", "aXb", False),
])
def test_glob_syntax(glob: str, path: str, matches: bool) -> None:
    assert bool(glob_regex(glob).fullmatch(path)) is matches


@pytest.mark.parametrize("name", ["job-{marker}", "job-?", "job-*", "job-[x]", "job-a,b", "job-\\"])
def test_no_glob_for_a_path_with_glob_characters(name: str) -> None:
    assert wanted_glob(f"logs/{name}/1/") is None


@pytest.fixture(scope="module")
def noisy_bucket(tmp_path_factory: pytest.TempPathFactory):
    """2 runs of one job; the finished ones hold 1,100 noise objects (more than one list page of 1,000)."""
    data = tmp_path_factory.mktemp("noisy")
    generate_sample_data(data / BUCKET, jobs=1, days=1, seed=8, now=NOW, runs_per_day=(2, 2),
                         shape=ArtifactShape(noise_objects=1100))
    return data


@pytest.mark.emulator
def test_honoured_ignored_or_refused_the_rows_are_the_same_and_honoured_lists_once_per_run(
        tmp_path, noisy_bucket, gcs_server) -> None:
    upstream = gcs_server(noisy_bucket)
    names = sample_job_names(1)
    noisiest = max((p for p in (noisy_bucket / BUCKET / "logs" / names[0]).iterdir() if p.is_dir()),
                   key=lambda p: sum(1 for _ in p.rglob("*")))
    run_prefix = f"logs/{names[0]}/{noisiest.name}/"
    results = {}
    for mode in ("honour", "ignore", "refuse"):
        with GlobProxy(upstream, mode) as proxy:
            os.environ["STORAGE_EMULATOR_HOST"] = proxy.url
            bucket = GCSBucket(BUCKET)
            warehouse = prepare_warehouse(f"duckdb:///{tmp_path / mode}.duckdb", names)
            summary = upload(bucket, warehouse, now=lambda: NOW)
            runs = summary.loaded + summary.unfinished
            requests = proxy.list_requests - 1  # minus the job listing
            # Once seen ignored or refused, the glob is not sent again.
            sent = proxy.glob_requests
            list(bucket.list_files(f"{run_prefix}", match_glob=wanted_glob(run_prefix)))
            results[mode] = (warehouse_tables(warehouse), requests, runs, proxy.glob_requests - sent,
                             bucket.match_glob_honoured)
            os.environ["STORAGE_EMULATOR_HOST"] = upstream
    honour, ignore, refuse = results["honour"], results["ignore"], results["refuse"]
    assert honour[0] == ignore[0] == refuse[0]
    assert honour[2] == 2
    assert honour[1] == honour[2] and honour[4] is True  # one list request per run
    pages = sum(-(-sum(1 for f in run.rglob("*") if f.is_file()) // 1000)
                for run in (noisy_bucket / BUCKET / "logs" / names[0]).iterdir() if run.is_dir())
    assert pages > honour[2]  # a run with its noise takes more than one page
    assert ignore[1] == pages and ignore[4] is False  # every page listed; detected as ignored
    assert ignore[3] == 0 and refuse[3] == 0 and refuse[4] is False
    assert honour[3] == 1
