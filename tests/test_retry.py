"""The retry budget: attempts, a time limit per call, and an overall time budget (issue 23)."""

from __future__ import annotations

import pytest

from job_run_aggregator import retry
from job_run_aggregator.errors import TransientError


class Clock:
    """A fake monotonic clock that each call to `fn` and each sleep advance."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def failing(clock: Clock, cost: float):
    calls = []

    def fn() -> None:
        calls.append(clock.now)
        clock.now += cost
        raise TransientError("gs://b/o: network error (ReadTimeout)")

    return fn, calls


def test_the_attempts_end_a_fast_failure():
    clock = Clock()
    fn, calls = failing(clock, cost=0.0)
    with pytest.raises(TransientError) as caught:
        retry.retry_call(fn, "o", attempts=4, base_delay=1, max_delay=1, sleep=clock.sleep, clock=clock, deadline=60)
    assert len(calls) == 4
    assert str(caught.value) == "gs://b/o: network error (ReadTimeout) (gave up after 4 attempts)"


def test_the_time_limit_ends_slow_failures_before_the_attempts_do():
    # Each try costs a 20 s read timeout: 6 tries would take 2 minutes; the 60 s limit stops after the third.
    clock = Clock()
    fn, calls = failing(clock, cost=20.0)
    with pytest.raises(TransientError) as caught:
        retry.retry_call(fn, "o", attempts=6, base_delay=0.5, max_delay=20, sleep=clock.sleep, clock=clock,
                         deadline=60)
    assert len(calls) == 3
    assert str(caught.value).startswith("gs://b/o: network error (ReadTimeout) (gave up after 3 attempts in 6")


def test_an_exhausted_time_budget_stops_at_once_and_is_not_retried(monkeypatch):
    ticks = iter([0.0, 0.0, 100.0, 100.0, 100.0])
    monkeypatch.setattr(retry.time, "monotonic", lambda: next(ticks))
    calls = []

    def fn() -> None:
        calls.append(1)
        raise TransientError("x: network error (ReadTimeout)")

    with retry.time_budget(10, "upload-all"), pytest.raises(retry.BudgetExhausted) as caught:
        retry.retry_call(fn, "x", attempts=6, sleep=lambda s: None, deadline=1000)
    assert calls == [1]
    assert str(caught.value) == "upload-all: its time budget of 10 s ran out (x: network error (ReadTimeout))"
    assert retry.budget_deadline() is None  # restored on exit


def test_no_budget_means_none():
    with retry.time_budget(None, "upload-all"):
        retry.check_budget()
        assert retry.budget_deadline() is None
