"""Request limits (issue 23): the timeouts a request gets and the deadline its body must meet."""

from __future__ import annotations

import pytest

from job_run_aggregator.network import Limits, seconds


@pytest.mark.parametrize(("asked", "expected"), [
    pytest.param(None, (10.0, 20.0), id="none-asked-ours"),  # BigQuery asks for no timeout at all
    pytest.param(60, (10.0, 20.0), id="longer-lowered"),  # google-cloud-storage's 60 s
    pytest.param(5, (5, 5), id="shorter-kept"),
    pytest.param((3, 120), (3, 20.0), id="tuple-each"),
    pytest.param((None, 4), (10.0, 4), id="tuple-partial"),
    pytest.param(True, (10.0, 20.0), id="not-a-number"),
])
def test_a_request_gets_our_timeouts_or_shorter_ones(asked, expected):
    assert Limits(connect_timeout=10, read_timeout=20).timeout(asked) == expected


@pytest.mark.parametrize(("size", "expected"), [
    pytest.param(None, 60.0, id="unknown-size"),
    pytest.param(0, 60.0, id="empty"),
    pytest.param(2048, 60.03125, id="2KB"),
    pytest.param(64 * 1024 * 1024, 60.0 + 1024, id="64MiB-the-artifact-cap"),
])
def test_the_deadline_grows_with_the_size(size, expected):
    assert Limits(deadline=60, min_rate=64 * 1024).deadline_for(size) == pytest.approx(expected)


def test_durations_in_messages():
    assert [seconds(v) for v in (0.5, 2.04, 9.96, 10.4, 61.2)] == ["0.5", "2.0", "10.0", "10", "61"]
