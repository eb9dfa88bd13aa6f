"""What every artifact parser shares: the size cap, bounded reading, safe JSON decoding and typed field access.

Messages name the field as a path (`BackendDisruptions["kube-api-new-connections"].Name`) so that a problem
record says exactly what is wrong; hostile values are cut short before they reach a message.
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from job_run_aggregator.errors import InputError

try:
    import orjson
except ImportError:  # pragma: no cover - the strict decoder below gives the same results, only slower
    orjson = None  # type: ignore[assignment]

MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
_MAX_NUMBER_DIGITS = 64  # JSON integers beyond this are nonsense in any artifact; int() would also refuse >4300
_READ_CHUNK = 1024 * 1024
_SHOWN = 60
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
JsonObject = dict[str, object]
# orjson turns integers beyond 64 bits into floats and keeps the last of duplicate keys without a word, unlike the
# strict decoder below. Documents that could hold a big integer go to the strict decoder: those with a run of 19+
# digits where JSON allows a value (after `[`, `:` or `,`; digits inside strings may match too, which only costs
# speed), found on a "shape" of the document: digits → 0, `[{` → [, `:,` → `,`, anything else → x, whitespace
# dropped (one C pass, ~3x cheaper than a regex); the shape is built only for the few documents with such a run.
_DIGITS = bytes(ord("0") if 48 <= b <= 57 else b for b in range(256))
_SHAPE = bytes(
    ord("0") if 48 <= b <= 57 else ord("[") if b in b"[{" else ord(",") if b in b":," else
    ord("-") if b == ord("-") else ord("x")
    for b in range(256)
)
_LONG = b"0" * 19
_LONG_AFTER = (b"," + _LONG, b",-" + _LONG, b"[" + _LONG, b"[-" + _LONG)


def _no_big_integer(data: bytes) -> bool:
    if _LONG not in data.translate(_DIGITS):
        return True
    shape = data.translate(_SHAPE, b" \t\n\r")
    if shape.startswith(_LONG) or shape.startswith(b"-" + _LONG):
        return False
    return not any(marker in shape for marker in _LONG_AFTER)


def _no_duplicate_keys(data: bytes, document: object) -> bool:
    """Tell whether orjson kept every key of `data`: compare the colons of the text and of the document re-encoded.

    A colon outside strings separates a key from its value; one inside a string is the same character in the
    decoded value, or an escape (`\\u003a`) that decodes to one. Re-encoded, the document therefore holds as many
    colons as the text plus its escaped ones, unless an entry was dropped for a later one with the same key: then
    its separator (and any colon of its content) is missing. (A `\\u003a` counted that was not an escape, as in
    `\\\\u003a`, can only make the counts differ, which sends the document to the strict decoder.)
    """
    escaped = data.count(b"\\u003a") + data.count(b"\\u003A") if b"\\u" in data else 0
    try:
        return orjson.dumps(document).count(b":") == data.count(b":") + escaped
    except TypeError:  # nested deeper than orjson writes (255 levels): the strict decoder decides
        return False



class _HugeNumber(ValueError):
    pass


def check_size(data: bytes, path: str, limit: int = MAX_ARTIFACT_BYTES) -> None:
    """Reject an artifact over the size cap before any decoding work is done."""
    if len(data) > limit:
        raise InputError(f"file is {len(data)} bytes, over the {render_limit(limit)} limit", path)


def read_capped(stream: BinaryIO, path: str, limit: int = MAX_ARTIFACT_BYTES) -> bytes:
    """Read a whole artifact from a binary stream, never holding more than the cap plus one chunk.

    A seekable stream over the cap is rejected from its length alone, without reading it.
    """
    if stream.seekable():
        start = stream.tell()
        size = stream.seek(0, 2) - start
        stream.seek(start)
        if size > limit:
            raise InputError(f"file is {size} bytes, over the {render_limit(limit)} limit", path)
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(min(_READ_CHUNK, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            chunks.clear()
            raise InputError(f"file is more than {limit} bytes, over the {render_limit(limit)} limit", path)
    return b"".join(chunks)


def render_limit(limit: int) -> str:
    """`64 MiB` for whole mebibytes, else the byte count."""
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit} bytes"


def show(value: object) -> str:
    """Render a value for a message: strings double-quoted with unprintable characters escaped, cut short."""
    if not isinstance(value, str):
        text = repr(value)
        return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    escaped = "".join(map(_escape, value[:_SHOWN]))
    return f'"{escaped}{"…" if len(value) > _SHOWN else ""}"'


def _escape(char: str) -> str:
    if char in '"\\' or ord(char) < 0x20:
        return json.dumps(char)[1:-1]
    if char.isprintable():
        return char
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def describe(value: object) -> str:
    """Name a JSON value's type the way a reader of the file thinks of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({show(value)})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def field_path(parent: str, key: str | int) -> str:
    """Extend a field path: `a.b`, `a["x.y"]`, `a[3]`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{show(key)}]"


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _MAX_NUMBER_DIGITS:
        raise _HugeNumber(f"a number with {digits} digits is too large")
    return int(text)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return obj


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def load_json(data: bytes, path: str) -> object:
    """Decode an artifact as strict UTF-8 JSON (no NaN/Infinity, no giant integers, bounded nesting).

    Raises:
        InputError: too big, not UTF-8, not JSON, nested too deeply, or holding a giant number.
    """
    check_size(data, path)
    if orjson is not None and _no_big_integer(data):
        # The fast decoder accepts only what the strict one accepts (with the same values) once duplicate keys are
        # ruled out; whatever it refuses goes to the strict one, whose error messages are the ones reported. A
        # duplicate key erases data (two entries for one backend): the strict decoder names it.
        try:
            document = orjson.loads(data)
        except (ValueError, RecursionError):
            pass
        else:
            if _no_duplicate_keys(data, document):
                return document
    return load_json_strictly(data, path)


def load_json_strictly(data: bytes, path: str) -> object:
    """`load_json` by the standard decoder alone: the reference the fast path must agree with."""
    check_size(data, path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text: invalid byte 0x{data[error.start]:02x} at offset {error.start}", path
        ) from None
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", path) from None
    except _HugeNumber as error:
        raise InputError(f"not valid JSON: {error}", path) from None
    except _DuplicateKey as error:
        raise InputError(f"duplicate key {show(error.args[0])} in one object; the file is ambiguous, not read",
                         path) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}", path) from None
    except ValueError as error:
        raise InputError(f"not valid JSON: {error}", path) from None


def load_json_object(data: bytes, path: str) -> JsonObject:
    """Decode an artifact whose top level must be a JSON object."""
    document = load_json(data, path)
    if not isinstance(document, dict):
        raise InputError(f"top level is {describe(document)}, expected an object", path)
    return document


def wrong_type(where: str, value: object, expected: str, path: str) -> InputError:
    return InputError(f"{where} is {describe(value)}, expected {expected}", path)


def _check_text(where: str, value: str, path: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Python's json keeps lone surrogates ("\ud800"); they would crash the warehouse load later.
        raise InputError(f"{where} is not valid Unicode (lone surrogate escape)", path) from None
    return value


def optional_object(obj: JsonObject, key: str, where: str, path: str) -> JsonObject:
    """A nested object; absent or null reads as empty."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise wrong_type(field_path(where, key), value, "an object", path)
    return value


def required_string(obj: JsonObject, key: str, where: str, path: str) -> str:
    """A string field that must be present and non-null."""
    if key not in obj:
        raise InputError(f"{field_path(where, key)} is missing", path)
    return optional_string(obj, key, where, path)


def optional_string(obj: JsonObject, key: str, where: str, path: str) -> str:
    """A string field; absent or null reads as ""."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise wrong_type(field_path(where, key), value, "a string", path)
    if "\x00" in value:
        # DuckDB and BigQuery would store it, but names with NUL cut short in C tools and logs: not a real name.
        raise InputError(f"{field_path(where, key)} contains a NUL character", path)
    if value.isascii():  # no surrogate possible; spares building the field path for every string
        return value
    return _check_text(field_path(where, key), value, path)


def string_map(obj: JsonObject, key: str, where: str, path: str) -> dict[str, str]:
    """An object of string values (labels, annotations); absent or null reads as empty."""
    mapping = optional_object(obj, key, where, path)
    here = field_path(where, key)
    return {name: optional_string(mapping, name, here, path) for name in mapping}
