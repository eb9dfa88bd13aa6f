"""The fault proxy's latency option in front of the real fake-gcs-server: every request waits its seeded draw,
answers are the upstream's bytes, keep-alive connections are reused and concurrent requests are served.

The elapsed-time checks are lower bounds (a request cannot be answered before its delay has passed): the proxy's
contract, not a performance assertion.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from faults.proxy import FaultProxy, latency_for
from servers import fake_gcs_server

pytestmark = pytest.mark.emulator

BUCKET = "latency-bucket"
OBJECTS = {
    "logs/job/1/prowjob.json": b'{"spec": {"job": "job"}}',
    "logs/job/1/artifacts/junit/junit_e2e.xml": b"<testsuite>" + b"<testcase name='x'/>" * 500 + b"</testsuite>",
    "logs/job/2/blob.bin": bytes(range(256)) * 64,
}
LATENCY = (0.03, 0.08)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("latency") / "data"
    for name, body in OBJECTS.items():
        path = data / BUCKET / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    with fake_gcs_server(data) as url:
        yield url


def _paths() -> list[str]:
    lists = [f"/storage/v1/b/{BUCKET}/o?prefix=logs/", f"/storage/v1/b/{BUCKET}/o?prefix=logs/job/1/&delimiter=/"]
    media = [f"/storage/v1/b/{BUCKET}/o/{quote(name, safe='')}?alt=media" for name in OBJECTS]
    return lists + media


def _get(conn: http.client.HTTPConnection, path: str, host: str | None = None) -> tuple[int, bytes]:
    conn.request("GET", path, headers={"Host": host} if host else {})
    response = conn.getresponse()
    return response.status, response.read()


def _direct(upstream: str, proxy_url: str, paths: list[str]) -> list[tuple[int, bytes]]:
    """The upstream's own answers, asked with the Host the client names through the proxy (fake-gcs-server
    builds selfLink and mediaLink from it)."""
    conn = _connect(upstream)
    try:
        return [_get(conn, p, host=urlsplit(proxy_url).netloc) for p in paths]
    finally:
        conn.close()


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)


def test_latency_draws_are_uniform_in_bounds_and_deterministic() -> None:
    draws = [latency_for(7, LATENCY, "GET", f"/o/{i % 5}", i // 5) for i in range(500)]
    assert all(LATENCY[0] <= d <= LATENCY[1] for d in draws)
    assert draws == [latency_for(7, LATENCY, "GET", f"/o/{i % 5}", i // 5) for i in range(500)]
    assert draws != [latency_for(8, LATENCY, "GET", f"/o/{i % 5}", i // 5) for i in range(500)]
    # Spread over the whole interval (not one value): each fifth of it gets a fair share of 500 draws.
    fifths = [sum(1 for d in draws if LATENCY[0] + k * 0.01 <= d < LATENCY[0] + (k + 1) * 0.01) for k in range(5)]
    assert all(60 <= n <= 140 for n in fifths), fifths
    assert latency_for(1, (0.05, 0.05), "GET", "/x", 0) == 0.05


def test_bad_latency_bounds_are_refused(upstream: str) -> None:
    for bounds in ((0.08, 0.03), (-0.01, 0.02)):
        with pytest.raises(ValueError, match="latency"):
            FaultProxy(upstream, latency=bounds)


def test_sequential_requests_wait_their_latency_on_one_kept_alive_connection(upstream: str) -> None:
    paths = _paths() * 2
    with FaultProxy(upstream, latency=LATENCY, seed=3) as proxy:
        expected = _direct(upstream, proxy.url, paths)
        assert all(status == 200 for status, _ in expected)
        conn = _connect(proxy.url)
        began = time.monotonic()
        answers = [_get(conn, p) for p in paths]
        elapsed = time.monotonic() - began
        conn.close()
    assert answers == expected  # status and body, byte for byte
    assert proxy.requests == len(paths)
    assert proxy.connections == 1  # keep-alive: every request on the same connection
    assert proxy.faults == 0
    draws = [latency_for(3, LATENCY, "GET", p, n) for n, p in [(0, p) for p in _paths()] + [(1, p) for p in _paths()]]
    assert proxy.delayed == pytest.approx(sum(draws))
    assert elapsed >= sum(draws) >= len(paths) * LATENCY[0]


def test_concurrent_requests_are_served_each_on_its_connection(upstream: str) -> None:
    results: dict[int, list[tuple[int, bytes]]] = {}

    def client(k: int, url: str) -> None:
        conn = _connect(url)
        results[k] = [_get(conn, p) for p in _paths()]
        conn.close()

    with FaultProxy(upstream, latency=LATENCY, seed=4) as proxy:
        expected = dict(zip(_paths(), _direct(upstream, proxy.url, _paths()), strict=True))
        threads = [threading.Thread(target=client, args=(k, proxy.url)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(results) == list(range(8))
    assert all(answers == [expected[p] for p in _paths()] for answers in results.values())
    assert proxy.requests == 8 * len(_paths())
    assert proxy.connections == 8
    # The n-th request for the same URL draws the n-th latency, whichever thread sent it.
    assert proxy.delayed == pytest.approx(sum(latency_for(4, LATENCY, "GET", p, n) for p in _paths() for n in range(8)))


def test_without_latency_nothing_is_added(upstream: str) -> None:
    with FaultProxy(upstream) as proxy:
        conn = _connect(proxy.url)
        assert _get(conn, _paths()[2]) == (200, OBJECTS["logs/job/1/prowjob.json"])
        conn.close()
    assert proxy.delayed == 0.0 and proxy.connections == 1


def test_data_folder_is_what_the_server_serves(upstream: str) -> None:
    # Guard for the tests above: the expected answers come from the real server, not from this file.
    conn = _connect(upstream)
    status, body = _get(conn, f"/storage/v1/b/{BUCKET}/o/{quote('logs/job/2/blob.bin', safe='')}?alt=media")
    conn.close()
    assert status == 200 and body == OBJECTS["logs/job/2/blob.bin"]


def test_answers_are_not_held_back_by_nagle(upstream: str) -> None:
    """Headers and body go out in two writes: without TCP_NODELAY the body waits for the client's delayed ACK
    (~40 ms a request on Linux, measured 43 ms before this option), which would swamp the latency under study."""
    with FaultProxy(upstream) as proxy:
        conn = _connect(proxy.url)
        assert _get(conn, _paths()[2])[0] == 200
        with proxy._lock:
            accepted = list(proxy._open)
        assert len(accepted) == 1
        assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        conn.close()
