"""The shared artifact plumbing: size cap, bounded reads, strict JSON, field paths, and the package's public API."""

from __future__ import annotations

import io
import json

import pytest

from job_run_aggregator.artifacts import parse
from job_run_aggregator.errors import InputError
from job_run_aggregator.artifacts.parse.document import (
    MAX_ARTIFACT_BYTES,
    check_size,
    describe,
    field_path,
    load_json,
    read_capped,
    show,
)


class _Unseekable(io.RawIOBase):
    """A pipe-like stream: bytes on demand, no length known in advance."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.remaining)
        buffer[:count] = b"x" * count
        self.remaining -= count
        return count


@pytest.mark.parametrize(
    ("size", "limit", "reason"),
    [
        pytest.param(10, 10, None, id="at-limit"),
        pytest.param(11, 10, "file is 11 bytes, over the 10 bytes limit", id="one-over"),
        pytest.param(
            MAX_ARTIFACT_BYTES + 1, MAX_ARTIFACT_BYTES, "file is 67108865 bytes, over the 64 MiB limit", id="mib"
        ),
    ],
)
def test_check_size(size: int, limit: int, reason: str | None) -> None:
    data = bytes(size)
    if reason is None:
        check_size(data, "a.json", limit)
    else:
        with pytest.raises(InputError) as caught:
            check_size(data, "a.json", limit)
        assert caught.value.reason == reason


@pytest.mark.parametrize("seekable", [pytest.param(True, id="seekable"), pytest.param(False, id="pipe")])
@pytest.mark.parametrize(
    ("size", "limit"),
    [
        pytest.param(0, 8, id="empty"),
        pytest.param(8, 8, id="at-limit"),
        pytest.param(3_000_000, 3_000_000, id="many-chunks"),
    ],
)
def test_read_capped_returns_everything_up_to_the_limit(seekable: bool, size: int, limit: int) -> None:
    stream = io.BytesIO(b"x" * size) if seekable else io.BufferedReader(_Unseekable(size))
    assert read_capped(stream, "a.json", limit) == b"x" * size


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        pytest.param(io.BytesIO(b"x" * 9), "file is 9 bytes, over the 8 bytes limit", id="seekable"),
        pytest.param(io.BufferedReader(_Unseekable(9)), "file is more than 8 bytes, over the 8 bytes limit", id="pipe"),
    ],
)
def test_read_capped_rejects_over_the_limit(stream: io.IOBase, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        read_capped(stream, "a.json", 8)  # type: ignore[arg-type]
    assert caught.value.reason == reason


def test_read_capped_starts_at_the_current_position() -> None:
    stream = io.BytesIO(b"headerpayload")
    stream.seek(6)
    assert read_capped(stream, "a.json", 7) == b"payload"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"\xc3\x28", "not UTF-8 text: invalid byte 0xc3 at offset 0", id="bad-continuation"),
        pytest.param(
            '{"a": "caf\xe9"}'.encode("latin-1"), "not UTF-8 text: invalid byte 0xe9 at offset 10", id="latin-1"
        ),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "not valid JSON: nested too deeply", id="deep-lists"),
        # Go's decoder keeps the last of duplicate keys; the first entry's data would vanish without a word.
        pytest.param(b'{"a": 1, "b": {"x": 1, "x": 2}}', 'duplicate key "x" in one object; the file is ambiguous, '
                     "not read", id="duplicate-key-refused-not-last-wins"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "not valid JSON: nested too deeply", id="deep-objects"),
        pytest.param(b"[Infinity]", "not valid JSON: Infinity is not valid JSON", id="infinity"),
        pytest.param(b"[-Infinity]", "not valid JSON: -Infinity is not valid JSON", id="minus-infinity"),
        pytest.param(
            b"[" + b"1" * 5000 + b"]", "not valid JSON: a number with 5000 digits is too large", id="5000-digit-int"
        ),
        pytest.param(
            b"[-" + b"1" * 65 + b"]", "not valid JSON: a number with 65 digits is too large", id="65-digit-negative"
        ),
        pytest.param(
            b"{'a': 1}",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
            id="single-quotes",
        ),
        pytest.param(b'{"a": 1} {"b": 2}', "not valid JSON: Extra data at line 1 column 10", id="two-documents"),
    ],
)
def test_load_json_rejects(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        load_json(data, "x.json")
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            b'[1e999, 12345678901234567890, "\\u00e9"]', [float("inf"), 12345678901234567890, "é"], id="numbers-kept"
        ),
        pytest.param(b"[" + b"9" * 64 + b"]", [int("9" * 64)], id="64-digits-ok"),
    ],
)
def test_load_json_accepts(data: bytes, expected: object) -> None:
    assert load_json(data, "x.json") == expected


@pytest.mark.parametrize(
    ("parent", "key", "expected"),
    [
        pytest.param("", "Alerts", "Alerts", id="top"),
        pytest.param("Alerts", 3, "Alerts[3]", id="index"),
        pytest.param("Alerts[3]", "Name", "Alerts[3].Name", id="identifier"),
        pytest.param(
            "BackendDisruptions",
            "kube-api-new-connections",
            'BackendDisruptions["kube-api-new-connections"]',
            id="dashed",
        ),
        pytest.param("metadata.labels", "a\nb", 'metadata.labels["a\\nb"]', id="newline-escaped"),
    ],
)
def test_field_path(parent: str, key: str | int, expected: str) -> None:
    assert field_path(parent, key) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "null", id="null"),
        pytest.param(True, "a boolean", id="bool"),
        pytest.param(2.5, "a number (2.5)", id="float"),
        pytest.param("x", "a string", id="string"),
        pytest.param([], "a list", id="list"),
        pytest.param({}, "an object", id="object"),
    ],
)
def test_describe(value: object, expected: str) -> None:
    assert describe(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("kube-api", '"kube-api"', id="plain"),
        pytest.param('a"b\\c', '"a\\"b\\\\c"', id="quotes-backslash"),
        pytest.param("\x00\x85\u2028\ud800", '"\\u0000\\u0085\\u2028\\ud800"', id="invisible-and-surrogate"),
        pytest.param("y" * 61, '"' + "y" * 60 + '…"', id="cut"),
        pytest.param(10**70, repr(10**70)[:60] + "…", id="long-number"),
    ],
)
def test_show(value: object, expected: str) -> None:
    assert show(value) == expected
    show(value).encode("utf-8")


def test_all_is_honest() -> None:
    exported = {name for name in dir(parse) if not name.startswith("_")} - {
        "annotations",
        "alerts",
        "cluster_data",
        "disruption",
        "document",
        "durations",
        "junit",
        "prowjob",
        "started_finished",
    }
    assert sorted(parse.__all__) == sorted(exported)
    for name in parse.__all__:
        assert getattr(parse, name).__doc__, name


def test_messages_are_plain_json_safe() -> None:
    with pytest.raises(InputError) as caught:
        load_json(b'{"a":', "logs/job/1/x.json")
    json.dumps(str(caught.value))
    assert str(caught.value).startswith("logs/job/1/x.json: not valid JSON: ")
