"""Go's `%#v` rendering of origin's keys, byte for byte: what origin logs when it falls back to another key."""

from __future__ import annotations

from functools import lru_cache

from job_run_aggregator.matching.keys import ALERT, JOB_TYPE_FIELDS, DataKey, JobType

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(text: str) -> str:
    """Quote a string like Go's strconv.Quote (what `%#v` prints for a string field)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


@lru_cache(maxsize=4096)
def go_job_type(job_type: JobType) -> str:
    """Render like Go's `%#v` of a platformidentification.JobType."""
    # Cached: the same few hundred JobTypes are rendered into every fallback message.
    fields = zip(JOB_TYPE_FIELDS, job_type.values(), strict=True)
    return "platformidentification.JobType{" + ", ".join(f"{f}:{go_quote(v)}" for f, v in fields) + "}"


def render_key(key: DataKey, kind: str, rules: str) -> str:
    """Render a key like Go's `%#v` of origin's historicaldata.DataKey / AlertDataKey under `rules`."""
    return render_key_parts(key.name, key.namespace, key.level, go_job_type(key.job_type), kind, rules)


def render_key_parts(name: str, namespace: str, level: str, job_type_go: str, kind: str, rules: str) -> str:
    """`render_key` from the key's parts and its already rendered JobType (the matcher caches the latter)."""
    if kind == ALERT:
        return (
            f"historicaldata.AlertDataKey{{AlertName:{go_quote(name)}, AlertNamespace:{go_quote(namespace)},"
            f" AlertLevel:{go_quote(level)}, JobType:{job_type_go}}}"
        )
    # origin's 2022 DataKey called the field Name; it became BackendName later.
    label = "Name" if rules == "2022" else "BackendName"
    return f"historicaldata.DataKey{{{label}:{go_quote(name)}, JobType:{job_type_go}}}"
