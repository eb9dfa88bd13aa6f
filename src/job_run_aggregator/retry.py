"""Retry with exponential backoff and full jitter for transient faults (network, quota, 5xx)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from job_run_aggregator.errors import TransientError

T = TypeVar("T")
log = logging.getLogger(__name__)

# Module-level so tests (and the CLI) can shorten the budget without threading it through every call.
DEFAULT_ATTEMPTS = 6
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 20.0
# Seconds a call keeps retrying, counted from its first try: with stalled requests each try costs a read timeout,
# so the count alone would let a dead endpoint hold a run for attempts x timeout (issue 23: fail within ~2 min).
DEFAULT_DEADLINE = 60.0


def configure(attempts: int | None = None, base_delay: float | None = None, max_delay: float | None = None,
              deadline: float | None = None) -> None:
    """Set the process-wide retry budget (the CLI applies the retry_* settings here); None keeps a value."""
    global DEFAULT_ATTEMPTS, DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY, DEFAULT_DEADLINE
    if deadline is not None:
        DEFAULT_DEADLINE = deadline
    if attempts is not None:
        DEFAULT_ATTEMPTS = attempts
    if base_delay is not None:
        DEFAULT_BASE_DELAY = base_delay
    if max_delay is not None:
        DEFAULT_MAX_DELAY = max_delay


class BudgetExhausted(TransientError):
    """The overall time budget (`time_budget`) ran out: not retried, the command stops with exit 75."""


_budget: tuple[float, str] | None = None  # (time.monotonic() deadline, message)


@contextmanager
def time_budget(seconds: float | None, what: str) -> Iterator[None]:
    """Bound everything inside (all threads) to `seconds`: after it, no try starts and none is retried."""
    global _budget
    if seconds is None:
        yield
        return
    previous = _budget
    _budget = (time.monotonic() + seconds, f"{what}: its time budget of {seconds:g} s ran out")
    try:
        yield
    finally:
        _budget = previous


def budget_deadline() -> float | None:
    """The time.monotonic() value the current budget ends at, if any."""
    return _budget[0] if _budget else None


def check_budget() -> None:
    """Raise BudgetExhausted when the current time budget has run out."""
    if _budget is not None and time.monotonic() >= _budget[0]:
        raise BudgetExhausted(_budget[1])


def retry_call(
    fn: Callable[[], T],
    what: str,
    attempts: int | None = None,
    base_delay: float | None = None,
    max_delay: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `fn`, retrying TransientError with backoff; give up, naming `what`, after the last attempt or once
    the next one would start more than `deadline` seconds after the first."""
    attempts = attempts or DEFAULT_ATTEMPTS
    base = DEFAULT_BASE_DELAY if base_delay is None else base_delay
    cap = max_delay or DEFAULT_MAX_DELAY
    limit = DEFAULT_DEADLINE if deadline is None else deadline
    began = clock()
    for attempt in range(1, attempts + 1):
        check_budget()
        try:
            return fn()
        except BudgetExhausted:
            raise
        except TransientError as exc:
            if _budget is not None and time.monotonic() >= _budget[0]:
                raise BudgetExhausted(f"{_budget[1]} ({exc})") from exc
            if attempt == attempts:
                raise TransientError(f"{exc} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})") from exc
            delay = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
            elapsed = clock() - began
            if elapsed + delay > limit:
                raise TransientError(
                    f"{exc} (gave up after {attempt} attempt{'s' if attempt > 1 else ''} in {elapsed:.1f} s)"
                ) from exc
            log.warning("%s: transient failure (%s); retry %d/%d in %.1fs", what, exc, attempt, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")
