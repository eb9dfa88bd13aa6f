"""Go duration strings ("2.4s", "1h2m3.5s", "1.5µs") → nanoseconds and seconds, exactly as Go's time package.

This mirrors `time.ParseDuration` and `Duration.Seconds` from the Go standard library
(go/src/time/format.go, time.go) digit for digit, including its float64 arithmetic for fractions, so
that ceil(seconds) matches what the Go uploader wrote into BigQuery.
"""

from __future__ import annotations

import re

from job_run_aggregator.errors import InputError
from job_run_aggregator.artifacts.parse.document import show as _quote

NANOSECONDS_PER_SECOND = 1_000_000_000
_MAX_MAGNITUDE = 1 << 63  # |int64 min|: Go accepts "-2562047h47m16.854775808s" but not its positive twin

_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 MICRO SIGN
    "\u03bcs": 1_000,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": NANOSECONDS_PER_SECOND,
    "m": 60 * NANOSECONDS_PER_SECOND,
    "h": 3600 * NANOSECONDS_PER_SECOND,
}
_DIGITS = re.compile(r"[0-9]*")
_UNIT = re.compile(r"[^0-9.]*")


def _invalid(text: str) -> InputError:
    return InputError(f"invalid Go duration {_quote(text)}")


def _overflow(text: str) -> InputError:
    return InputError(f"Go duration {_quote(text)} is out of range (more than int64 nanoseconds, about 292 years)")


def _leading_fraction(digits: str) -> tuple[int, float]:
    """Go's leadingFraction: stop accumulating precision once the value would overflow."""
    value, scale = 0, 1.0
    for char in digits:
        if value > (_MAX_MAGNITUDE - 1) // 10:
            break
        candidate = value * 10 + ord(char) - 48
        if candidate > _MAX_MAGNITUDE:
            break
        value, scale = candidate, scale * 10
    return value, scale


def parse_duration_ns(text: str, *, allow_negative: bool = False) -> int:
    """Parse a Go duration string into int64 nanoseconds, accepting exactly what Go's time.ParseDuration accepts.

    A negative duration is valid Go but bad data in an artifact, so it is rejected unless allowed.

    Raises:
        InputError: not a Go duration, outside int64 nanoseconds, or negative when not allowed.
    """
    rest, negative = text, False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    if rest == "0":  # Go's special case: a bare "0" needs no unit
        return 0
    if not rest:
        raise _invalid(text)
    total = 0
    pos, end = 0, len(rest)
    while pos < end:
        if not (rest[pos] == "." or "0" <= rest[pos] <= "9"):
            raise _invalid(text)
        whole_match = _DIGITS.match(rest, pos)
        assert whole_match is not None
        whole_digits = whole_match.group()
        pos = whole_match.end()
        significant = whole_digits.lstrip("0")  # Go accepts any number of leading zeros
        if len(significant) > 19 or (significant and int(significant) > _MAX_MAGNITUDE):
            raise _overflow(text)
        whole = int(significant) if significant else 0
        fraction, scale, has_fraction = 0, 1.0, False
        if pos < end and rest[pos] == ".":
            fraction_match = _DIGITS.match(rest, pos + 1)
            assert fraction_match is not None
            has_fraction = fraction_match.end() > pos + 1
            fraction, scale = _leading_fraction(fraction_match.group())
            pos = fraction_match.end()
        if not whole_digits and not has_fraction:  # ".s" or "-.s"
            raise _invalid(text)
        unit_match = _UNIT.match(rest, pos)
        assert unit_match is not None
        unit_text = unit_match.group()
        pos = unit_match.end()
        if not unit_text:
            raise InputError(f"Go duration {_quote(text)} is missing a unit (ns, us, µs, ms, s, m, h)")
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise InputError(f"unknown unit {_quote(unit_text)} in Go duration {_quote(text)}")
        if whole > _MAX_MAGNITUDE // unit:
            raise _overflow(text)
        value = whole * unit
        if fraction > 0:
            # Go: float64 keeps fractions of hours nanosecond-accurate; uint64() truncates.
            value += int(float(fraction) * (float(unit) / scale))
            if value > _MAX_MAGNITUDE:
                raise _overflow(text)
        total += value
        if total > _MAX_MAGNITUDE:
            raise _overflow(text)
    if negative:
        if total and not allow_negative:
            raise InputError(f"Go duration {_quote(text)} is negative")
        return -total
    if total > _MAX_MAGNITUDE - 1:
        raise _overflow(text)
    return total


def seconds_from_ns(nanoseconds: int) -> float:
    """Go's Duration.Seconds: whole seconds plus the remainder, each converted to float64."""
    whole = abs(nanoseconds) // NANOSECONDS_PER_SECOND
    remainder = abs(nanoseconds) % NANOSECONDS_PER_SECOND
    seconds = float(whole) + float(remainder) / 1e9
    return -seconds if nanoseconds < 0 else seconds


def parse_duration_seconds(text: str, *, allow_negative: bool = False) -> float:
    """Parse a Go duration string into float seconds; negative durations are rejected unless allowed.

    Raises:
        InputError: not a Go duration, out of range, or negative when not allowed.
    """
    return seconds_from_ns(parse_duration_ns(text, allow_negative=allow_negative))
