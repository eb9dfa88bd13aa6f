"""GCS connections are reused, not churned (issue 16): with N readers the bucket keeps N + 1 connections open.

google-cloud-storage talks through a requests.Session whose adapters keep at most 10 idle connections per host;
with more threads, connections returned while 10 are idle are closed ("Connection pool is full, discarding
connection") and the next burst opens new ones, a TCP and TLS handshake each against real GCS.
`GCSBucket.allow_concurrency` sizes the pool; these tests count the TCP connections at a proxy in front of the
real fake-gcs-server (30–80 ms would make them slow: a few ms per request is enough to make requests overlap).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faults.proxy import FaultProxy
from ingest.upload_model import prepare_warehouse, warehouse_tables

from job_run_aggregator.artifacts.buckets.gcs import DEFAULT_POOL_SIZE, GCSBucket
from job_run_aggregator.artifacts.buckets.local import LocalBucket
from job_run_aggregator.ingest.upload import upload
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

pytestmark = pytest.mark.emulator

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BUCKET = "test-platform-results"
LATENCY = (0.004, 0.012)
WORKERS = 16
POOL_FULL = "Connection pool is full"


@pytest.fixture(scope="module")
def flat_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pool")
    for i in range(120):
        path = data / "flat" / "objects" / f"{i:03}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'{"n": %d}' % i)
    return data


@pytest.fixture(scope="module")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("sample")
    generate_sample_data(data / BUCKET, jobs=3, days=3, seed=16, now=NOW)
    return data


def _bursts(bucket: GCSBucket, workers: int, bursts: int = 3) -> list[bytes]:
    """Read every object of the flat bucket `bursts` times on `workers` threads, all threads idle in between."""
    names = list(bucket.list_files("objects"))
    assert len(names) == 120
    out: list[bytes] = []
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(bursts):
            out += pool.map(bucket.read, names)
    return out


def test_n_readers_reuse_at_most_n_connections(flat_bucket: Path, gcs_server, caplog) -> None:
    upstream = gcs_server(flat_bucket)
    with FaultProxy(upstream, latency=LATENCY, max_connections=256) as proxy:
        os.environ["STORAGE_EMULATOR_HOST"] = proxy.url
        bucket = GCSBucket("flat")
        bucket.allow_concurrency(WORKERS)
        with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
            data = _bursts(bucket, WORKERS)
    assert data == [b'{"n": %d}' % i for i in range(120)] * 3
    assert proxy.requests == 1 + 3 * 120
    assert proxy.connections <= WORKERS  # one listing, then the readers: each connection kept and reused
    assert not [r for r in caplog.records if POOL_FULL in r.getMessage()]


def test_control_the_unsized_pool_churns_connections(flat_bucket: Path, gcs_server, caplog) -> None:
    """Without sizing, the same reads open more connections than readers: what the test above guards against."""
    upstream = gcs_server(flat_bucket)
    with FaultProxy(upstream, latency=LATENCY, max_connections=256) as proxy:
        os.environ["STORAGE_EMULATOR_HOST"] = proxy.url
        bucket = GCSBucket("flat")
        with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
            _bursts(bucket, WORKERS)
    assert proxy.connections > WORKERS
    assert [r for r in caplog.records if POOL_FULL in r.getMessage()]


def test_an_upload_with_n_workers_uses_at_most_n_plus_one_connections(
        sample_bucket: Path, gcs_server, tmp_path: Path, caplog) -> None:
    upstream = gcs_server(sample_bucket)
    names = sample_job_names(3)
    local = prepare_warehouse(f"duckdb:///{tmp_path / 'local'}.duckdb", names)
    upload(LocalBucket(sample_bucket / BUCKET), local, now=lambda: NOW, workers=WORKERS)
    with FaultProxy(upstream, latency=LATENCY, max_connections=256) as proxy:
        os.environ["STORAGE_EMULATOR_HOST"] = proxy.url
        warehouse = prepare_warehouse(f"duckdb:///{tmp_path / 'gcs'}.duckdb", names)
        with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
            summary = upload(GCSBucket(BUCKET), warehouse, now=lambda: NOW, workers=WORKERS)
    assert summary.loaded > 20
    assert proxy.requests > 8 * summary.loaded
    assert proxy.connections <= WORKERS + 1  # the readers and the listing thread
    assert not [r for r in caplog.records if POOL_FULL in r.getMessage()]
    assert warehouse_tables(warehouse) == warehouse_tables(local)  # the same rows as from the folder


def test_the_pool_grows_and_never_shrinks_and_the_session_stays_bounded(gcs_server) -> None:
    gcs_server()
    bucket = GCSBucket(BUCKET)
    session = bucket.client._http
    assert session.adapters["http://"]._pool_maxsize == DEFAULT_POOL_SIZE
    bucket.allow_concurrency(4)  # below the default: nothing to do
    assert session.adapters["http://"]._pool_maxsize == DEFAULT_POOL_SIZE
    bucket.allow_concurrency(32)
    assert session.adapters["http://"]._pool_maxsize == session.adapters["https://"]._pool_maxsize == 33
    bucket.allow_concurrency(16)
    assert session.adapters["https://"]._pool_maxsize == 33
    assert session.adapters["https://"].max_retries.total == 0  # retries stay ours (retry.py)
    assert session._jra_bounded  # the time bounds (network.py) wrap the session, not the adapters
