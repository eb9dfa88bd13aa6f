"""Time bounds for every GCS and BigQuery request: connect/read timeouts, a size-aware deadline, a slow warning.

Google's clients bound their requests loosely or not at all: BigQuery passes no timeout, so a connection that is
accepted and never answered waits forever; a read timeout restarts with every byte, so a body trickling at 2 B/s
holds a worker (and the writers' lock) for as long as the server likes. `bound_session` wraps one client's HTTP
session (a `requests.Session`) so that every request it sends

- has a connect and a read timeout (`Limits.connect_timeout`, `Limits.read_timeout`; a larger or missing timeout
  asked for by the client library is lowered to ours);
- must be complete, body included, within `Limits.deadline + size / Limits.min_rate` seconds of its start (the
  size is the request body's plus the answer's Content-Length): at the deadline a watchdog thread shuts the
  connection down, the blocked read fails at once, and the caller's retry layer (retry.py) tries again; no request
  outlives the overall time budget (`retry.time_budget`, an upload's `upload_deadline`) either;
- logs one warning, naming the object, when it has waited `Limits.warn_after` seconds.

Callers name what they are doing with `operation(what)`; a request's deadline failure is then raised by
`Operation.check` as a `TransientError` naming `what`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from job_run_aggregator import retry
from job_run_aggregator.errors import TransientError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    """How long one request may take; the CLI sets the process-wide value from the settings (`configure`)."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # BigQuery's jobs.getQueryResults long-polls for up to 10 s: stay above that
    deadline: float = 60.0
    min_rate: float = 64 * 1024.0  # bytes per second a body must at least arrive at
    warn_after: float = 15.0

    def timeout(self, asked: Any = None) -> tuple[float, float]:
        """(connect, read) seconds: ours, or what the client library asked for when that is shorter."""
        connect, read = self.connect_timeout, self.read_timeout
        if isinstance(asked, (int, float)) and not isinstance(asked, bool):
            connect, read = min(connect, asked), min(read, asked)
        elif isinstance(asked, tuple) and len(asked) == 2:
            connect = min(connect, asked[0]) if isinstance(asked[0], (int, float)) else connect
            read = min(read, asked[1]) if isinstance(asked[1], (int, float)) else read
        return connect, read

    def deadline_for(self, size: int | None) -> float:
        """Seconds a request may take from its start to its last byte, for a body of `size` bytes."""
        return self.deadline + max(0, size or 0) / self.min_rate


_limits = Limits()


def configure(**values: float | None) -> None:
    """Set the process-wide limits (fields of `Limits`); None keeps a value."""
    global _limits
    current = {f: getattr(_limits, f) for f in Limits.__dataclass_fields__}
    current.update({k: v for k, v in values.items() if v is not None})
    _limits = Limits(**current)


def limits() -> Limits:
    return _limits


@dataclass(eq=False, slots=True)
class _Request:
    """One HTTP request in flight, as the watchdog sees it."""

    what: str
    started: float
    deadline: float
    warn_at: float
    sockets: list[socket.socket] = field(default_factory=list)
    sent: int = 0  # bytes of the request body (a load job's upload): they count toward the deadline too
    expired: bool = False
    warned: bool = False


@dataclass(eq=False, slots=True)
class Operation:
    """What a caller is doing (e.g. reading gs://…/prowjob.json) and the requests it made, for one attempt."""

    what: str
    requests: list[_Request] = field(default_factory=list)

    @property
    def expired(self) -> bool:
        return any(r.expired for r in self.requests)

    def check(self, exc: BaseException) -> TransientError | None:
        """The deadline failure behind `exc` (a read cut by the watchdog), or None when it was something else."""
        late = next((r for r in self.requests if r.expired), None)
        if late is None:
            return None
        try:
            retry.check_budget()
        except retry.BudgetExhausted as spent:
            return spent
        return TransientError(
            f"{self.what}: no complete answer within {seconds(late.deadline - late.started)} s (stalled or too slow)"
        )


class _Watchdog:
    """One daemon thread: warns about requests waiting too long and cuts those past their deadline."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._active: set[_Request] = set()
        self._thread: threading.Thread | None = None

    def start(self, what: str, lim: Limits, sent: int = 0) -> _Request:
        now = time.monotonic()
        request = _Request(what, now, _capped(now + lim.deadline_for(sent)), now + lim.warn_after, sent=sent)
        with self._lock:
            self._active.add(request)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="jra-watchdog", daemon=True)
                self._thread.start()
            self._lock.notify()
        return request

    def answered(self, request: _Request, sock: socket.socket | None, size: int | None, lim: Limits) -> None:
        """Headers are in: the body's size sets the deadline; the socket is what to cut when it passes."""
        with self._lock:
            request.deadline = _capped(request.started + lim.deadline_for(request.sent + (size or 0)))
            if sock is not None:
                request.sockets.append(sock)
            if request.expired and sock is not None:
                _cut(sock)
            self._lock.notify()

    def finish(self, request: _Request) -> None:
        with self._lock:
            self._active.discard(request)
            request.sockets.clear()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._active:
                    self._lock.wait(5.0)
                    if not self._active:
                        self._thread = None
                        return
                now = time.monotonic()
                nxt = now + 1.0
                for r in list(self._active):
                    if not r.warned and now >= r.warn_at:
                        r.warned = True
                        log.warning("%s: no complete answer after %s s; waiting at most %s s in all",
                                    r.what, seconds(now - r.started), seconds(r.deadline - r.started))
                    if not r.expired and now >= r.deadline:
                        r.expired = True
                        for sock in r.sockets:
                            _cut(sock)
                    for t in (r.warn_at if not r.warned else None, r.deadline if not r.expired else None):
                        if t is not None:
                            nxt = min(nxt, t)
                self._lock.wait(max(0.01, nxt - now))


_watchdog = _Watchdog()
_current = threading.local()


@contextmanager
def operation(what: str) -> Iterator[Operation]:
    """Name the requests this thread makes inside the block; they stay watched until it ends (bodies read late)."""
    op = Operation(what)
    outer = getattr(_current, "operation", None)
    _current.operation = op
    try:
        yield op
    finally:
        _current.operation = outer
        for r in op.requests:
            _watchdog.finish(r)


def bound_session(session: Any, get_limits: Callable[[], Limits] = limits) -> Any:
    """Wrap `session.request` (a requests.Session, e.g. google-auth's AuthorizedSession) in our limits; idempotent."""
    if getattr(session, "_jra_bounded", False):
        return session
    original = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        retry.check_budget()  # the overall budget (an upload's) has run out: start nothing more
        lim = get_limits()
        kwargs["timeout"] = lim.timeout(kwargs.get("timeout"))
        op = getattr(_current, "operation", None)
        body = kwargs.get("data")
        sent = len(body) if isinstance(body, (bytes, bytearray, str)) else 0
        watched = _watchdog.start(op.what if op is not None else f"{method} {url.split('?')[0]}", lim, sent)
        previous = getattr(_current, "request", None)
        _current.request = (watched, lim)
        try:
            response = original(method, url, *args, **kwargs)
        except BaseException:
            _settle(op, watched, body_follows=False)
            raise
        finally:
            _current.request = previous
        # A streamed body (a GCS download) is read after this returns: watched until the operation ends.
        _settle(op, watched, body_follows=bool(kwargs.get("stream")))
        return response

    def on_response(response: Any, *args: Any, **kwargs: Any) -> Any:
        current = getattr(_current, "request", None)
        if current is not None:
            watched, lim = current
            try:
                size: int | None = int(response.headers.get("Content-Length") or 0)
            except ValueError:
                size = None
            conn = getattr(getattr(response, "raw", None), "connection", None)
            _watchdog.answered(watched, getattr(conn, "sock", None), size, lim)
        return response

    session.request = request
    session.hooks.setdefault("response", []).append(on_response)
    session._jra_bounded = True
    return session


def _capped(deadline: float) -> float:
    # No request outlives the overall time budget (retry.time_budget) either.
    end = retry.budget_deadline()
    return deadline if end is None else min(deadline, end)


def seconds(value: float) -> str:
    """A duration for messages: whole seconds, tenths below ten."""
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _settle(op: Operation | None, watched: _Request, body_follows: bool) -> None:
    if op is not None:
        op.requests.append(watched)  # kept for Operation.check
    if op is None or not body_follows:
        _watchdog.finish(watched)


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
