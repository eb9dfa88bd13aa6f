"""started.json / finished.json (DESIGN §2): every field may be absent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import StartedFinished
from job_run_aggregator.artifacts.parse.started_finished import parse_started_finished

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            (FIXTURES / "started.json").read_bytes(),
            StartedFinished(datetime(2023, 2, 14, 9, 52, 4, tzinfo=UTC)),
            id="real-started",
        ),
        pytest.param(
            (FIXTURES / "finished.json").read_bytes(),
            StartedFinished(datetime(2023, 2, 14, 11, 26, 22, tzinfo=UTC), passed=False, result="FAILURE"),
            id="real-finished",
        ),
        pytest.param(b"{}", StartedFinished(None), id="empty-object"),
        pytest.param(b'{"timestamp": null, "passed": null, "result": null}', StartedFinished(None), id="all-null"),
        pytest.param(b'{"passed": true}', StartedFinished(None, passed=True), id="only-passed"),
        pytest.param(
            b'{"timestamp": 0, "result": "ABORTED"}',
            StartedFinished(datetime(1970, 1, 1, tzinfo=UTC), result="ABORTED"),
            id="epoch-zero",
        ),
        pytest.param(
            b'{"timestamp": 253402300799}',
            StartedFinished(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
            id="last-representable-second",
        ),
    ],
)
def test_started_finished(data: bytes, expected: StartedFinished) -> None:
    assert parse_started_finished(data, "finished.json") == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"[1676368324]", "top level is a list, expected an object", id="top-level-list"),
        pytest.param(
            b'{"timestamp": "1676368324"}', "timestamp is a string, expected whole epoch seconds", id="timestamp-string"
        ),
        pytest.param(
            b'{"timestamp": 1676368324.5}',
            "timestamp is a number (1676368324.5), expected whole epoch seconds",
            id="timestamp-fraction",
        ),
        pytest.param(
            b'{"timestamp": true}', "timestamp is a boolean, expected whole epoch seconds", id="timestamp-boolean"
        ),
        pytest.param(
            b'{"timestamp": -1}',
            "timestamp -1 is out of range (0 to 253402300799 epoch seconds)",
            id="timestamp-negative",
        ),
        pytest.param(
            b'{"timestamp": 99999999999999999999}',
            "timestamp 99999999999999999999 is out of range (0 to 253402300799 epoch seconds)",
            id="timestamp-huge",
        ),
        pytest.param(
            b'{"timestamp": 1e999}',
            "timestamp is a number (inf), expected whole epoch seconds",
            id="timestamp-infinite",
        ),
        pytest.param(b'{"passed": "true"}', "passed is a string, expected a boolean", id="passed-string"),
        pytest.param(b'{"passed": 1}', "passed is a number (1), expected a boolean", id="passed-number"),
        pytest.param(b'{"result": ["FAILURE"]}', "result is a list, expected a string", id="result-list"),
    ],
)
def test_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_started_finished(data, "logs/job/1/finished.json")
    assert str(caught.value) == f"logs/job/1/finished.json: {reason}"
