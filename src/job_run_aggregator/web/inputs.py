"""Bounded checks of untrusted query_results.json bytes before the library parses them (pure).

A query_results.json is a flat array of flat objects. orjson parses in C with a fixed depth limit (1024) and
never recurses in Python, so a `[[[[…` document costs microseconds and a clear message instead of a
RecursionError; a document that is not a flat array of flat objects is refused before the stdlib parser (which
recurses) ever sees it.
"""

from __future__ import annotations

import orjson

from job_run_aggregator.errors import InputError

MAX_FILE_BYTES = 32 * 1024 * 1024


def check_rows_document(data: bytes, name: str) -> None:
    """Raise InputError if `data` is JSON but not an array of objects whose values are scalars.

    Invalid JSON passes: the library's parser (which is safe on flat input) reports it with line and column.
    """
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"larger than {MAX_FILE_BYTES // 2**20} MB", path=name)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc):
            raise InputError(f"nested too deeply (at byte {exc.pos}); expected a query_results.json array of "
                             "flat rows", path=name) from None
        return  # not JSON: the library's parser reports where, in its usual words
    if not isinstance(document, list):
        raise InputError(f"expected a JSON array of rows, found {_json_type(document)}", path=name)
    for index, row in enumerate(document):
        if not isinstance(row, dict):
            raise InputError(f"row {index}: expected an object, found {_json_type(row)}", path=name)
        for key, value in row.items():
            if isinstance(value, (list, dict)):
                raise InputError(f"row {index}: {_short(key)!r} holds {_json_type(value)}; rows hold only "
                                 "strings and numbers", path=name)


def _json_type(value: object) -> str:
    return {list: "an array", dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _short(text: str, limit: int = 60) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"
