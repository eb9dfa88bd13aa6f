"""The orjson fast path of `load_json` agrees with the strict decoder on every input: same value or same error.

The fast path exists for speed (JSON decoding was most of the parse time of an ingest); the strict decoder is the
reference, and refusing a duplicate key is the property the fast path must not lose.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from job_run_aggregator.artifacts.parse import document as doc
from job_run_aggregator.errors import InputError

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(load, data: bytes) -> tuple[str, object]:
    try:
        return "ok", repr(load(data, "f.json"))  # repr tells 1, 1.0 and True apart, and keeps key order
    except InputError as error:
        return "error", error.reason


def agree(data: bytes) -> tuple[str, object]:
    fast = outcome(doc.load_json, data)
    assert fast == outcome(doc.load_json_strictly, data), data[:300]
    return fast


@pytest.mark.skipif(doc.orjson is None, reason="orjson not installed: there is no fast path to compare")
def test_the_fast_path_is_taken_for_ordinary_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object) -> object:
        raise AssertionError("strict decoder used")

    monkeypatch.setattr(doc, "load_json_strictly", fail)
    assert doc.load_json(b'{"a": "10.0.0.1:6443: connect", "b": [1, 2.5, null, true]}', "f") == {
        "a": "10.0.0.1:6443: connect", "b": [1, 2.5, None, True]}


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": 1, "b": {"x": 1, "x": 2}}',
        b'{"a": "x:y:z", "a": "w"}',  # the dropped value holds colons
        b'{"a": {"k": 1}, "a": 2}',  # the dropped value holds a key
        b'{"a": 1, "a": 2, "b": "\\u003a"}',  # an escaped colon would make up for the dropped separator
        b'{"a": 1, "\\u0061": 2}',  # the same key, spelled differently
        b'[{"x": 1}, {"y": 2, "y": 2}]',
    ],
)
def test_duplicate_keys_are_refused_on_either_path(data: bytes) -> None:
    kind, reason = agree(data)
    assert kind == "error" and "duplicate key" in str(reason)


keys = st.text(max_size=6) | st.sampled_from(["a", "b", ":", '"', "\\", "a:b"])
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
           | st.text(max_size=12) | st.sampled_from(["10.0.0.1:6443", "\\u003a", "12:00:00Z", '":"']))


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON text, some objects with a repeated key (which json.dumps of a dict cannot write)."""
    kind = draw(st.sampled_from(["scalar", "list", "object"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        return json.dumps(draw(scalars), ensure_ascii=draw(st.booleans()))
    if kind == "list":
        return "[" + ",".join(draw(st.lists(documents(depth + 1), max_size=4))) + "]"
    names = draw(st.lists(keys, max_size=4))
    if names and draw(st.integers(0, 4)) == 0:
        names.append(draw(st.sampled_from(names)))
    members = [f"{json.dumps(n, ensure_ascii=draw(st.booleans()))}: {draw(documents(depth + 1))}" for n in names]
    return "{" + ", ".join(members) + "}"


@FUZZ
@given(text=documents())
def test_fast_and_strict_agree_on_json_documents(text: str) -> None:
    agree(text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(data=st.binary(max_size=200))
def test_fast_and_strict_agree_on_arbitrary_bytes(data: bytes) -> None:
    agree(data)


@FUZZ
@given(text=documents(), cut=st.integers(0, 400), junk=st.binary(max_size=4))
def test_fast_and_strict_agree_on_damaged_documents(text: str, cut: int, junk: bytes) -> None:
    data = text.encode("utf-8", errors="surrogatepass")
    agree(data[:cut] + junk + data[cut:])


@pytest.mark.parametrize(
    "data",
    [b"[" + b"9" * 19 + b"]", b"[-" + b"9" * 25 + b"]", b"[" * 500 + b"]" * 500, b"[" * 520 + b"]" * 520, b'{"a": NaN}', b"[1e999]",
     b'"\\ud800"', b"\xef\xbb\xbf{}", b"[1,]", b"{}  ", b" [] \n", b"-0", b"[0.1e-400]"],
)
def test_fast_and_strict_agree_on_edge_documents(data: bytes) -> None:
    agree(data)
