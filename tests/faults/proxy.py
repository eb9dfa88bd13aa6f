"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for tests: between a client and a real server (fake-gcs-server,
bqemulator).

Each request is forwarded whole, then answered as-is or with a fault: an error status (429/500/503), a reset
connection (RST, no answer), a body cut short under a correct Content-Length, a body cut short under a matching
wrong Content-Length, or a delay. Network faults (issue 23): a stall (the request is accepted and never answered,
until the client hangs up), a slow body (headers at once, then the body at `slow_rate` bytes/s). BigQuery's own
refusals: `ratelimit` ("Exceeded rate limits: too many table update operations for this table", 403) and
`concurrent` (a DML statement that lost to a concurrent update, 400). Whether and how the n-th request for a given
method+URL fails is a pure function of (seed, method, URL, n), so a run's fault schedule does not depend on thread
timing; `streak` caps the faults in a row for one method+URL (after that many, it is answered as-is); `match`
limits faults to the requests it accepts (e.g. BigQuery job insertions). `dead` makes the whole endpoint stall or
reset every request, `kill()` closes it (new connections are refused, open ones reset), as a killed server;
`record` keeps every request's body (`bodies`).

`latency=(low, high)` delays every request (faulted or not) by a uniform draw in [low, high] seconds before it is
forwarded, as a distant server's round trip; the draw, like the faults, is a pure function of (seed, method, URL,
n). `connections` counts the TCP connections accepted (keep-alive reuse shows as fewer connections than requests).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import select
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

STATUS_FAULTS = {"429": 429, "500": 500, "503": 503}
FAULT_KINDS = ("429", "500", "503", "reset", "cut", "short", "delay")
NETWORK_KINDS = ("stall", "slow")
# BigQuery's answers, as the REST API words them (google-cloud-bigquery maps them by status and reason).
BIGQUERY_ERRORS = {
    "ratelimit": (403, "rateLimitExceeded",
                  ("Exceeded rate limits: too many table update operations for this table. For more information, "
                   "see https://cloud.google.com/bigquery/docs/troubleshoot-quotas")),
    "concurrent": (400, "invalidQuery",
                   "Could not serialize access to table test-project:ds.JobRuns due to concurrent update"),
}
ALL_KINDS = FAULT_KINDS + NETWORK_KINDS + tuple(BIGQUERY_ERRORS)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
              "content-length"}


def latency_for(seed: int, bounds: tuple[float, float], method: str, url: str, n: int) -> float:
    """Seconds to delay the `n`-th (0-based) request `method url`: uniform in `bounds`, deterministic per seed."""
    low, high = bounds
    digest = hashlib.sha256(f"latency|{seed}|{method}|{url}|{n}".encode()).digest()
    return low + (high - low) * int.from_bytes(digest[:8], "big") / 2**64


def fault_for(seed: int, rate: float, kinds: tuple[str, ...], method: str, url: str, n: int) -> str | None:
    """The fault for the `n`-th (0-based) request `method url`, or None: deterministic per seed."""
    digest = hashlib.sha256(f"{seed}|{method}|{url}|{n}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw >= rate:
        return None
    return kinds[int.from_bytes(digest[8:12], "big") % len(kinds)]


class FaultProxy:
    """Forward to `upstream` (http://host:port), injecting faults at `rate`; a context manager that runs it.

    `injected` counts the faults by kind, `requests` every request received, `log` lists (method, URL, fault).
    `on_request(n)` runs before the n-th request (1-based) is forwarded: tests use it to stop the upstream at a
    deterministic point.
    """

    def __init__(self, upstream: str, rate: float = 0.0, seed: int = 0, kinds: tuple[str, ...] = FAULT_KINDS,
                 delay: float = 0.2, streak: int | None = None, max_connections: int = 32,
                 timeout: float = 30.0, slow_rate: float = 2.0, stall_for: float = 600.0,
                 match: Callable[[str, str], bool] | None = None, record: bool = False,
                 latency: tuple[float, float] | None = None) -> None:
        if latency is not None and not 0 <= latency[0] <= latency[1]:
            raise ValueError(f"latency must be (low, high) seconds with 0 <= low <= high, not {latency}")
        unknown = set(kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(ALL_KINDS)}")
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate, self.seed, self.kinds, self.delay, self.timeout = rate, seed, kinds, delay, timeout
        self.streak = streak
        self.slow_rate, self.stall_for, self.match = slow_rate, stall_for, match
        self.dead: str | None = None  # "stall" or "reset": every request, from now on
        self.record = record
        self.latency = latency
        self.connections = 0  # TCP connections accepted
        self.delayed = 0.0  # seconds of latency added, summed over requests
        self.bodies: list[tuple[str, str, bytes]] = []  # (method, URL, request body) when `record`
        self.killed = False
        self._stopping = threading.Event()
        self.injected: Counter[str] = Counter()
        self.log: list[tuple[str, str, str | None]] = []
        self.requests = 0
        self.upstream_down = 0
        self.on_request: Callable[[int], None] | None = None
        # Before a request is forwarded: (method, URL path). Tests delete an object from the server here.
        self.before_forward: Callable[[str, str], None] | None = None
        # Requests whose URL contains one of these are answered 404 (an object listed but never readable).
        self.not_found: set[str] = set()
        self._seen: Counter[tuple[str, str]] = Counter()
        self._streaks: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self), self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop(reset=False)

    def kill(self) -> None:
        """Stop as a killed server does: the port refuses new connections, open ones are reset."""
        self.killed = True
        self._stop(reset=True)

    def _stop(self, reset: bool) -> None:
        assert self._server is not None and self._thread is not None
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            for sock in list(self._open):  # idle keep-alive connections: end them now, not at their timeout
                if reset:
                    # close() alone would wait for the handler's file objects; shutdown ends the connection now
                    # and linger 0 makes the final close an RST, as a killed process's sockets.
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    except OSError:
                        pass
                _close(sock, reset=False)
        self._server.server_close()
        self._thread.join(10)

    # -- decisions ---------------------------------------------------------------------------------------------
    def _next(self, method: str, url: str) -> tuple[int, str | None, float]:
        """(the request's number, 1-based; its fault or None; its latency in seconds)."""
        with self._lock:
            self.requests += 1
            number = self.requests
            n = self._seen[(method, url)]
            self._seen[(method, url)] += 1
            fault = fault_for(self.seed, self.rate, self.kinds, method, url, n)
            if self.match is not None and not self.match(method, url):
                fault = None
            if self.streak is not None:
                run = self._streaks[(method, url)]
                fault = fault if run < self.streak else None
                self._streaks[(method, url)] = run + 1 if fault else 0
            wait = latency_for(self.seed, self.latency, method, url, n) if self.latency is not None else 0.0
            self.delayed += wait
        return number, fault, wait

    def _count(self, method: str, url: str, kind: str | None) -> None:
        with self._lock:
            self.log.append((method, url, kind))
            if kind is not None:
                self.injected[kind] += 1

    def faults_for(self, fragment: str) -> Counter[str]:
        """Faults injected into requests whose URL contains `fragment`, by kind."""
        with self._lock:
            return Counter(k for _, url, k in self.log if k is not None and fragment in url)

    @property
    def faults(self) -> int:
        return sum(self.injected.values())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(address, handler)

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        # Bounded: at most max_connections handler threads; further connections wait in the accept backlog.
        self.proxy._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.proxy._slots.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        # Without TCP_NODELAY an answer's body, written after its headers, waits for the client's delayed ACK of
        # them (Nagle): ~40 ms per request on Linux, more than the latency this proxy is asked to add.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        with self.proxy._lock:
            self.proxy._open.add(request)
            self.proxy.connections += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.proxy._lock:
                self.proxy._open.discard(request)
            self.proxy._slots.release()

    def handle_error(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        pass  # a client hanging up mid-answer is part of the game, not news


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = proxy.timeout

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "chunked" in self.headers.get("Transfer-Encoding", ""):
                self._send(501, [("Content-Type", "text/plain")], b"chunked request bodies are not supported")
                return
            number, fault, wait = proxy._next(self.command, self.path)
            if wait:
                time.sleep(wait)  # the round trip to a distant server, before anything else happens
            if proxy.record:
                with proxy._lock:
                    proxy.bodies.append((self.command, self.path, body))
            if proxy.on_request is not None:
                proxy.on_request(number)
            if proxy.dead is not None:
                fault = proxy.dead
            if fault in ("reset", "stall") or fault in STATUS_FAULTS or fault in BIGQUERY_ERRORS:
                proxy._count(self.command, self.path, fault)
                if fault == "reset":
                    self._reset()
                elif fault == "stall":
                    self._stall()
                elif fault in BIGQUERY_ERRORS:
                    code, reason, message = BIGQUERY_ERRORS[fault]
                    error = {"error": {"code": code, "message": message, "status": "INVALID_ARGUMENT",
                                       "errors": [{"reason": reason, "domain": "global", "message": message}]}}
                    self._send(code, [("Content-Type", "application/json")], json.dumps(error).encode())
                else:
                    error = {"error": {"code": STATUS_FAULTS[fault], "message": "injected fault", "errors": []}}
                    self._send(STATUS_FAULTS[fault], [("Content-Type", "application/json")],
                               json.dumps(error).encode())
                return
            if any(fragment in self.path for fragment in set(proxy.not_found)):
                proxy._count(self.command, self.path, "404")
                error = {"error": {"code": 404, "message": "No such object (injected)", "errors": []}}
                self._send(404, [("Content-Type", "application/json")], json.dumps(error).encode())
                return
            if proxy.before_forward is not None:
                proxy.before_forward(self.command, self.path)
            try:
                status, headers, payload = self._forward(body)
            except OSError:
                # The server is gone: a TCP proxy whose backend vanished drops the client's connection.
                with proxy._lock:
                    proxy.upstream_down += 1
                self._reset()
                return
            if fault in ("cut", "short", "slow") and len(payload) < 2:
                fault = "delay"  # nothing to cut from an empty body
            proxy._count(self.command, self.path, fault)
            if fault == "delay":
                time.sleep(proxy.delay)
            if fault == "cut":  # the true length is announced, half the body arrives, the connection ends
                self._send(status, headers, payload[: len(payload) // 2], length=len(payload))
                self.close_connection = True
            elif fault == "short":  # a wrong (smaller) length, and exactly that many bytes
                self._send(status, headers, payload[: len(payload) // 2])
                self.close_connection = True
            elif fault == "slow":  # the true length at once, then the body at slow_rate bytes per second
                self._send(status, headers, b"", length=len(payload))
                self._trickle(payload)
            else:
                self._send(status, headers, payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            conn = http.client.HTTPConnection(*proxy.upstream, timeout=proxy.timeout)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                payload = b"" if self.command == "HEAD" else resp.read()
                kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
                return resp.status, kept, payload
            finally:
                conn.close()

        def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes,
                  length: int | None = None) -> None:
            self.send_response_only(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload) if length is None else length))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()

        def finish(self) -> None:
            try:
                super().finish()
            except (OSError, ValueError):  # the connection was reset on purpose
                pass

        def _stall(self) -> None:
            """Hold the request unanswered until the client hangs up (or `stall_for` passes, or the proxy stops)."""
            end = time.monotonic() + proxy.stall_for
            while time.monotonic() < end and not proxy._stopping.is_set():
                ready, _, _ = select.select([self.connection], [], [], 0.1)
                if ready:
                    try:
                        if not self.connection.recv(1, socket.MSG_PEEK):
                            break  # the client hung up
                    except OSError:
                        break
                    time.sleep(0.1)
            self.close_connection = True

        def _trickle(self, payload: bytes) -> None:
            step = max(1, int(proxy.slow_rate / 10))
            try:
                for i in range(0, len(payload), step):
                    if proxy._stopping.is_set():
                        break
                    self.wfile.write(payload[i : i + step])
                    self.wfile.flush()
                    time.sleep(step / proxy.slow_rate)
            except OSError:
                pass  # the client gave up on it
            self.close_connection = True

        def _reset(self) -> None:
            _close(self.connection, reset=True)
            self.close_connection = True

    return Handler


def _close(sock: socket.socket, reset: bool) -> None:
    try:
        if reset:  # SO_LINGER 0: close sends RST, the peer sees "connection reset by peer"
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
