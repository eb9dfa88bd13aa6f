"""Go duration parsing: the cases of Go's own time_test.go (parseDurationTests) plus the forms seen in artifacts."""

from __future__ import annotations

import math

import pytest

from job_run_aggregator.errors import InputError
from job_run_aggregator.artifacts.parse.durations import parse_duration_ns, parse_duration_seconds, seconds_from_ns

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
MS = 1_000_000
US = 1_000


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        pytest.param("0", 0, id="bare-zero"),
        pytest.param("0s", 0, id="zero-seconds"),
        pytest.param("750ms", 750 * MS, id="milliseconds"),
        pytest.param("2.4s", 2400 * MS, id="fractional-seconds"),
        pytest.param("1m2.5s", 62500 * MS, id="minutes-seconds"),
        pytest.param("1h2m3.5s", HOUR + 2 * MINUTE + 3500 * MS, id="hours-minutes-seconds"),
        pytest.param("1.5\u00b5s", 1500, id="micro-sign"),
        pytest.param("1.5\u03bcs", 1500, id="greek-mu"),
        pytest.param("1.5us", 1500, id="us"),
        pytest.param("100ns", 100, id="nanoseconds"),
        pytest.param("5s", 5 * SECOND, id="go-simple"),
        pytest.param("1478s", 1478 * SECOND, id="go-1478s"),
        pytest.param("+5s", 5 * SECOND, id="plus-sign"),
        pytest.param("-0", 0, id="minus-zero"),
        pytest.param("+0", 0, id="plus-zero"),
        pytest.param("-0s", 0, id="minus-zero-seconds-is-not-negative"),
        pytest.param("5.0s", 5 * SECOND, id="go-5.0s"),
        pytest.param("5.6s", 5 * SECOND + 600 * MS, id="go-5.6s"),
        pytest.param("5.s", 5 * SECOND, id="trailing-dot"),
        pytest.param(".5s", 500 * MS, id="leading-dot"),
        pytest.param("1.004s", SECOND + 4 * MS, id="go-1.004s"),
        pytest.param("1.0040s", SECOND + 4 * MS, id="go-1.0040s"),
        pytest.param("100.00100s", 100 * SECOND + MS, id="go-100.00100s"),
        pytest.param("11us", 11 * US, id="go-11us"),
        pytest.param("12\u00b5s", 12 * US, id="go-12-micro-sign"),
        pytest.param("12\u03bcs", 12 * US, id="go-12-greek-mu"),
        pytest.param("15m", 15 * MINUTE, id="go-15m"),
        pytest.param("16h", 16 * HOUR, id="go-16h"),
        pytest.param("3h30m", 3 * HOUR + 30 * MINUTE, id="go-3h30m"),
        pytest.param("10.5s4m", 4 * MINUTE + 10 * SECOND + 500 * MS, id="units-out-of-order"),
        pytest.param("1h2m3s4ms5us6ns", HOUR + 2 * MINUTE + 3 * SECOND + 4 * MS + 5 * US + 6, id="every-unit"),
        pytest.param("39h9m14.425s", 39 * HOUR + 9 * MINUTE + 14 * SECOND + 425 * MS, id="go-39h"),
        pytest.param("52763797000ns", 52763797000, id="large-ns"),
        pytest.param("0.3333333333333333333h", 20 * MINUTE, id="more-than-9-fraction-digits"),
        pytest.param("9007199254740993ns", (1 << 53) + 1, id="beyond-float-precision"),
        pytest.param("9223372036854775807ns", (1 << 63) - 1, id="int64-max-ns"),
        pytest.param("9223372036854775.807us", (1 << 63) - 1, id="int64-max-us"),
        pytest.param("9223372036s854ms775us807ns", (1 << 63) - 1, id="int64-max-composite"),
        pytest.param("0.100000000000000000000h", 6 * MINUTE, id="huge-fraction-string"),
        pytest.param("0.830103483285477580700h", 49 * MINUTE + 48 * SECOND + 372539827, id="fraction-overflow-check"),
        pytest.param("0000000000000000000000000000001s", SECOND, id="leading-zeros-unbounded"),
    ],
)
def test_parse_duration_matches_go(text: str, nanoseconds: int) -> None:
    assert parse_duration_ns(text) == nanoseconds
    assert parse_duration_seconds(text) == seconds_from_ns(nanoseconds)


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        pytest.param("-5s", -5 * SECOND, id="go-negative"),
        pytest.param("-2m3.4s", -(2 * MINUTE + 3 * SECOND + 400 * MS), id="go-negative-composite"),
        pytest.param("-9223372036854775808ns", -(1 << 63), id="int64-min-ns"),
        pytest.param("-9223372036854775.808us", -(1 << 63), id="int64-min-us"),
        pytest.param("-9223372036s854ms775us808ns", -(1 << 63), id="int64-min-composite"),
        pytest.param("-2562047h47m16.854775808s", -(1 << 63), id="int64-min-round-trip"),
    ],
)
def test_negative_durations_parse_only_when_allowed(text: str, nanoseconds: int) -> None:
    assert parse_duration_ns(text, allow_negative=True) == nanoseconds
    with pytest.raises(InputError) as caught:
        parse_duration_seconds(text)
    assert str(caught.value).endswith("is negative")
    assert caught.value.reason.startswith("Go duration ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", 'invalid Go duration ""', id="empty"),
        pytest.param("3", 'Go duration "3" is missing a unit (ns, us, µs, ms, s, m, h)', id="no-unit"),
        pytest.param("-", 'invalid Go duration "-"', id="sign-only"),
        pytest.param("s", 'invalid Go duration "s"', id="unit-only"),
        pytest.param(".", 'invalid Go duration "."', id="dot"),
        pytest.param("-.", 'invalid Go duration "-."', id="sign-dot"),
        pytest.param(".s", 'invalid Go duration ".s"', id="dot-unit"),
        pytest.param("+.s", 'invalid Go duration "+.s"', id="plus-dot-unit"),
        pytest.param("1d", 'unknown unit "d" in Go duration "1d"', id="days-are-not-go"),
        pytest.param("1.5 s", 'unknown unit " s" in Go duration "1.5 s"', id="space"),
        pytest.param("1S", 'unknown unit "S" in Go duration "1S"', id="capital-unit"),
        pytest.param("1s-2s", 'unknown unit "s-" in Go duration "1s-2s"', id="inner-sign"),
        pytest.param("--1s", 'invalid Go duration "--1s"', id="double-sign"),
        pytest.param("\x85\x85", 'invalid Go duration "\\u0085\\u0085"', id="control-characters"),
        pytest.param("\ufffd", 'invalid Go duration "\ufffd"', id="replacement-character"),
        pytest.param("2.4", 'Go duration "2.4" is missing a unit (ns, us, µs, ms, s, m, h)', id="float-text"),
        pytest.param("１s", 'invalid Go duration "１s"', id="fullwidth-digit"),
    ],
)
def test_invalid_durations_are_rejected(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_duration_ns(text, allow_negative=True)
    assert caught.value.reason == message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("9223372036854775810ns", id="go-overflow-ns"),
        pytest.param("9223372036854775808ns", id="int64-max-plus-one"),
        pytest.param("-9223372036854775809ns", id="int64-min-minus-one"),
        pytest.param("9223372036854776us", id="go-overflow-us"),
        pytest.param("3000000h", id="go-3000000h"),
        pytest.param("9223372036854775.808us", id="go-overflow-fraction"),
        pytest.param("9223372036854ms775us808ns", id="go-overflow-composite"),
        pytest.param("1" * 5000 + "s", id="five-thousand-digits"),
        pytest.param("2562048h", id="hours-just-over"),
    ],
)
def test_overflowing_durations_are_rejected(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_duration_ns(text, allow_negative=True)
    shown = text if len(text) <= 60 else text[:60] + "…"
    assert caught.value.reason == (
        f'Go duration "{shown}" is out of range (more than int64 nanoseconds, about 292 years)'
    )


@pytest.mark.parametrize(
    ("nanoseconds", "seconds"),
    [
        pytest.param(0, 0.0, id="zero"),
        pytest.param(2_400_000_000, 2.4, id="2.4s"),
        pytest.param(1500, 1.5e-06, id="1.5us"),
        pytest.param(-1_500_000_000, -1.5, id="negative"),
        pytest.param((1 << 63) - 1, 9223372036.854775807, id="int64-max"),
    ],
)
def test_seconds_match_go_duration_seconds(nanoseconds: int, seconds: float) -> None:
    assert seconds_from_ns(nanoseconds) == seconds


def test_tiny_durations_still_ceil_to_one_second() -> None:
    assert math.ceil(parse_duration_seconds("1ns")) == 1
    assert math.ceil(parse_duration_seconds("0s")) == 0
