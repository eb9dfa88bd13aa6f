"""started.json / finished.json → `StartedFinished` (DESIGN §2); every field may be absent."""

from __future__ import annotations

from datetime import UTC, datetime

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import StartedFinished
from job_run_aggregator.artifacts.parse.document import load_json_object, optional_string, show, wrong_type

_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime can hold


def parse_started_finished(data: bytes, path: str) -> StartedFinished:
    """Parse started.json or finished.json: `timestamp` (epoch seconds), `passed`, `result`; the rest is ignored.

    Raises:
        InputError: not a JSON object, or a present field has the wrong type or an impossible value.
    """
    document = load_json_object(data, path)
    passed = document.get("passed")
    if passed is not None and not isinstance(passed, bool):
        raise wrong_type("passed", passed, "a boolean", path)
    return StartedFinished(
        timestamp=_timestamp(document.get("timestamp"), path),
        passed=passed,
        result=optional_string(document, "result", "", path),
    )


def _timestamp(value: object, path: str) -> datetime | None:
    if value is None:
        return None
    # Prow writes an int64; Go would refuse a fraction or a string here, and so do we.
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type("timestamp", value, "whole epoch seconds", path)
    if not 0 <= value <= _MAX_TIMESTAMP:
        raise InputError(f"timestamp {show(value)} is out of range (0 to {_MAX_TIMESTAMP} epoch seconds)", path)
    return datetime.fromtimestamp(value, tz=UTC)
