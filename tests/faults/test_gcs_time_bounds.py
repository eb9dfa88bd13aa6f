"""GCS under a bad network is bounded in time (issue 23): stalled requests, slow bodies, a warning naming the object.

The fault proxy (faults/proxy.py) stalls a request (accepted, never answered, until the client hangs up) or sends
a body at a few bytes per second. Timeouts here are small (settings), so the tests stay short; without the time
bounds each stalled request waited the client's 60 s read timeout and a 2 KB body at 2 B/s held a run for minutes,
so these tests hit their own time limits.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from faults.proxy import FaultProxy
from faults.workspace import BUCKET, GcsServer, cli_env, dump_tables, make_bucket, primed_template, rows_by_run, run_cli

from job_run_aggregator import network
from job_run_aggregator.artifacts.buckets.gcs import GCSBucket
from job_run_aggregator.errors import TransientError

pytestmark = pytest.mark.emulator

FAST = {"JRA_RETRY_BASE_DELAY": "0.01", "JRA_RETRY_MAX_DELAY": "0.05"}
# Small time bounds for the tests: a stalled request costs 0.5 s, a body must arrive within 2 s (+ size / 64 KiB/s).
BOUNDS = {"JRA_READ_TIMEOUT": "0.5", "JRA_CONNECT_TIMEOUT": "0.5", "JRA_REQUEST_DEADLINE": "2",
          "JRA_SLOW_REQUEST_WARNING": "1"}
SUMMARY = re.compile(r"upload-all: jobs \d+, runs seen \d+, loaded (\d+), .* failed (\d+);")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_bucket(tmp_path_factory.mktemp("bounds") / "data")


@pytest.fixture(scope="module")
def server(data: tuple[Path, Path]):
    gcs = GcsServer(data[0])
    gcs.start()
    yield gcs
    gcs.stop()


@pytest.fixture(scope="module")
def primed(data: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return primed_template(tmp_path_factory.mktemp("primed"), data[1])


@pytest.fixture(scope="module")
def clean(server: GcsServer, primed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, float]:
    """The tables of one fault-free upload-all through the proxy, and its duration."""
    url = _copy(primed, tmp_path_factory.mktemp("clean") / "clean.duckdb")
    with FaultProxy(server.url, rate=0.0) as proxy:
        began = time.monotonic()
        done = _upload(url, proxy.url)
        seconds = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    return dump_tables(url), seconds


def _copy(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"duckdb:///{target}"


def _upload(url: str, gcs_url: str, timeout: float = 120, **env: str):
    return run_cli("--warehouse", url, "--bucket", f"gs://{BUCKET}", "upload-all", "--workers", "8",
                   env=cli_env(STORAGE_EMULATOR_HOST=gcs_url, **{**FAST, **BOUNDS, **env}), timeout=timeout)


def test_ten_percent_stalled_requests_load_the_same_tables_in_bounded_time(server, primed, clean, tmp_path):
    url = _copy(primed, tmp_path / "stalled.duckdb")
    clean_tables, clean_seconds = clean
    with FaultProxy(server.url, rate=0.1, seed=3, kinds=("stall",)) as proxy:
        began = time.monotonic()
        # Unbounded (the client's 60 s read timeout per stall) this takes well over the 120 s limit.
        done = _upload(url, proxy.url, timeout=120, JRA_RETRY_ATTEMPTS="8")
        seconds = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert proxy.injected["stall"] >= 0.07 * proxy.requests, (proxy.injected, proxy.requests)
    assert "Traceback" not in done.stderr
    assert dump_tables(url) == clean_tables
    print(f"10% stalled: {proxy.injected['stall']} stalls in {proxy.requests} requests; "
          f"{seconds:.1f} s vs {clean_seconds:.1f} s fault-free ({seconds / clean_seconds:.1f}x)")


def test_a_slow_body_is_cut_at_its_deadline_and_the_run_loads_on_the_next_try(server, primed, clean, data,
                                                                             tmp_path):
    url = _copy(primed, tmp_path / "slow.duckdb")
    clean_tables, _ = clean
    root = data[0] / BUCKET
    target = next(p for p in sorted(root.rglob("prowjob.json"))).relative_to(root).as_posix()
    quoted = quote(target, safe="")
    # The object's first answer trickles at 4 B/s, a byte every 0.25 s, so the 0.5 s read timeout never fires
    # (a 2 KB prowjob.json: ~9 minutes); then it answers normally.
    with FaultProxy(server.url, rate=1.0, kinds=("slow",), streak=1, slow_rate=4.0,
                    match=lambda method, path: quoted in path and "alt=media" in path) as proxy:
        began = time.monotonic()
        done = _upload(url, proxy.url, timeout=90)
        seconds = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert proxy.injected == {"slow": 1}
    assert dump_tables(url) == clean_tables
    warning = [line for line in done.stderr.splitlines() if "no complete answer after" in line]
    assert warning and f"gs://{BUCKET}/{target}: no complete answer after 1.0 s; waiting at most 2.0 s" in warning[0]
    assert f"gs://{BUCKET}/{target}: no complete answer within 2.0 s (stalled or too slow)" in done.stderr
    print(f"slow body (2 KB at 4 B/s): cut at its 2.0 s deadline, re-read; upload-all {seconds:.1f} s "
          f"(fault-free {clean[1]:.1f} s)")


@pytest.fixture
def some_object(data: tuple[Path, Path]) -> tuple[str, bytes]:
    root = data[0] / BUCKET
    path = next(p for p in sorted(root.rglob("*.json")) if p.stat().st_size > 1000)
    return path.relative_to(root).as_posix(), path.read_bytes()


@pytest.fixture
def small_bounds():
    saved = network.limits()
    network.configure(connect_timeout=0.5, read_timeout=0.5, deadline=1.0, warn_after=0.5)
    yield
    network.configure(**{f: getattr(saved, f) for f in network.Limits.__dataclass_fields__})


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "message"), [
    pytest.param("stall", "network error (ReadTimeout)", id="stall"),
    pytest.param("slow", "no complete answer within 1.0 s (stalled or too slow)", id="slow-body"),
])
def test_a_request_that_never_completes_fails_each_try_at_its_bound(server, some_object, monkeypatch, small_bounds,
                                                                     caplog, kind, message):
    path, _ = some_object
    with FaultProxy(server.url, rate=1.0, kinds=(kind,), slow_rate=20.0) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        with caplog.at_level(logging.WARNING, logger="job_run_aggregator.network"), \
                pytest.raises(TransientError) as caught:
            GCSBucket(BUCKET).read(path)
    assert str(caught.value) == f"gs://{BUCKET}/{path}: {message} (gave up after 6 attempts)"
    assert proxy.faults_for(quote(path, safe="")) == {kind: 6}
    if kind == "slow":  # a stall is cut by the read timeout (0.5 s) before the warning (0.5 s) is due
        assert f"gs://{BUCKET}/{path}: no complete answer after 0.5 s; waiting at most 1.0 s in all" in caplog.text


@pytest.mark.timeout(60)
def test_the_deadline_grows_with_the_size_of_the_answer(server, some_object, monkeypatch, small_bounds):
    path, content = some_object
    # 20 B/s for a > 1 KB body is far past a 1 s deadline; at a 10 B/s minimum rate the deadline is 1 s + size/10.
    network.configure(min_rate=10.0)
    with FaultProxy(server.url, rate=1.0, kinds=("slow",), slow_rate=400.0) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        assert GCSBucket(BUCKET).read(path) == content
    assert proxy.faults_for(quote(path, safe="")) == {"slow": 1}


def test_an_upload_deadline_stops_the_upload_keeping_what_it_committed(server, primed, clean, tmp_path):
    url = _copy(primed, tmp_path / "budget.duckdb")
    # Every object body at 400 B/s: each read stays within its own (size-aware) deadline, the whole never ends soon.
    with FaultProxy(server.url, rate=1.0, kinds=("slow",), slow_rate=400.0,
                    match=lambda method, path: "alt=media" in path) as proxy:
        began = time.monotonic()
        done = _upload(url, proxy.url, timeout=90, JRA_UPLOAD_DEADLINE="6", JRA_REQUEST_DEADLINE="60")
        seconds = time.monotonic() - began
    assert done.returncode == 75, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.fullmatch(
        r"error: upload-all: its time budget of 6 s ran out( \(.*\))?; (no run was committed before it|\d+ run\(s\) "
        r"\(\d+ rows; \d+ job\(s\) complete\) were committed before it and stay loaded), nothing partial; re-run .*",
        errors[0]), done.stderr
    tables = dump_tables(url)
    clean_tables, _ = clean
    # What was committed is complete: every loaded run has exactly its clean rows in every table.
    got, want = rows_by_run(tables), rows_by_run(clean_tables)
    loaded = {row[0] for row in tables["JobRuns"]}
    assert loaded < {row[0] for row in clean_tables["JobRuns"]}
    for table, runs in want.items():
        for run in loaded:
            assert got.get(table, {}).get(run, []) == runs.get(run, []), (table, run)
    print(f"upload deadline 6 s: exit 75 after {seconds:.1f} s (process start included); {errors[0]}")
