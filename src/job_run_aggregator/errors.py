"""The exception tree: everything raised on purpose derives from `JraError`.

    JraError                      exit 1 (base; never raised directly)
    ├── ConfigError               exit 2  bad flag/config/missing optional dependency
    ├── InputError                exit 3  a bad artifact or input file (skip it, count it)
    │   └── ObjectMissing                 an object listed a moment ago cannot be read now (retry the run later)
    ├── TransientError            exit 75 network/quota trouble that persisted through retries
    ├── TableMissing              exit 4  a warehouse table is absent (run create-tables)
    ├── SchemaDrift               exit 5  an existing table differs from the definition
    ├── LockBusy                  exit 6  another writer holds the warehouse lock
    └── ResourceExhausted         exit 7  out of memory, disk space or threads
"""

from __future__ import annotations

import errno
import unicodedata

# Characters that end, rewrite or reorder a terminal line: C0/C1 controls, DEL, line/paragraph separators and the
# bidi overrides (and lone surrogates, which cannot even be written to a UTF-8 stream). Names and paths come from
# data; in a log line they must stay on that line and read as written.
_LINE_BREAKERS = {"\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                  "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """Escape every control character of `text` (`\\n`, `\\x1b`, `\\u2028`) so that it prints as one line.

    Example: one_line("a\\nerror: forged") == "a\\\\nerror: forged".
    """
    if text.isprintable():
        return text
    return "".join(_escape(c) for c in text)


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char in _LINE_BREAKERS or unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    return char


class JraError(Exception):
    """Base of every error raised on purpose; `exit_code` is what the CLI returns."""

    exit_code = 1


class ConfigError(JraError):
    exit_code = 2


class InputError(JraError):
    """A bad artifact or input file; carries the object path when known."""

    exit_code = 3

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


class ObjectMissing(InputError):
    """A listed object is gone when read: a state of the bucket, not of the data (the run is retried later)."""


class ResourceExhausted(JraError):
    """Out of memory, disk space or threads: one line naming the resource, no traceback."""

    exit_code = 7


def resource_error(exc: BaseException, what: str = "") -> ResourceExhausted | None:
    """Map running out of memory, disk space or threads onto ResourceExhausted (None: something else)."""
    prefix = f"{what}: " if what else ""
    text = str(exc)
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryException":
        return ResourceExhausted(f"{prefix}out of memory; raise --memory-limit or the process's memory, or lower "
                                 "--workers (nothing half-written was committed)")
    if "No space left on device" in text or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
        return ResourceExhausted(f"{prefix}no space left on the device; free some and run again (the failed "
                                 "transaction was not committed)")
    if isinstance(exc, RuntimeError) and "can't start new thread" in text:
        return ResourceExhausted(f"{prefix}cannot start another thread (process or memory limits); lower "
                                 "--workers or raise the limit")
    return None


class TransientError(JraError):
    exit_code = 75


class TableMissing(JraError):
    exit_code = 4


class SchemaDrift(JraError):
    exit_code = 5


class LockBusy(JraError):
    exit_code = 6
