"""Retry with exponential backoff and full jitter for transient faults (network, quota, 5xx)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from job_run_aggregator.errors import TransientError

T = TypeVar("T")
log = logging.getLogger(__name__)

# Module-level so tests (and the CLI) can shorten the budget without threading it through every call.
DEFAULT_ATTEMPTS = 6
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 20.0


def configure(attempts: int | None = None, base_delay: float | None = None, max_delay: float | None = None) -> None:
    """Set the process-wide retry budget (the CLI applies the retry_* settings here); None keeps a value."""
    global DEFAULT_ATTEMPTS, DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY
    if attempts is not None:
        DEFAULT_ATTEMPTS = attempts
    if base_delay is not None:
        DEFAULT_BASE_DELAY = base_delay
    if max_delay is not None:
        DEFAULT_MAX_DELAY = max_delay


def retry_call(
    fn: Callable[[], T],
    what: str,
    attempts: int | None = None,
    base_delay: float | None = None,
    max_delay: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fn`, retrying TransientError with backoff; after the last attempt re-raise it, naming `what`."""
    attempts = attempts or DEFAULT_ATTEMPTS
    base = DEFAULT_BASE_DELAY if base_delay is None else base_delay
    cap = max_delay or DEFAULT_MAX_DELAY
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except TransientError as exc:
            if attempt == attempts:
                raise TransientError(f"{exc} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})") from exc
            delay = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
            log.warning("%s: transient failure (%s); retry %d/%d in %.1fs", what, exc, attempt, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")
