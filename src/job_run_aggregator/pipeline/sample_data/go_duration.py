"""Go's `time.Duration.String`, as the monitors write durations into the artifacts (pure)."""

from __future__ import annotations


def format_go_duration(nanoseconds: int) -> str:
    """Render like Go's `time.Duration.String`: "0s", "750ms", "1.5µs", "2.4s", "1m2.5s", "1h0m0s"."""
    if nanoseconds == 0:
        return "0s"
    sign, u = ("-" if nanoseconds < 0 else ""), abs(nanoseconds)
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000_000:
        return sign + (_fraction(u, 3) + "µs" if u < 1_000_000 else _fraction(u, 6) + "ms")
    minutes, rest = divmod(u, 60_000_000_000)
    hours, minutes = divmod(minutes, 60)
    prefix = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return f"{sign}{prefix}{_fraction(rest, 9)}s"


def _fraction(value: int, precision: int) -> str:
    whole, frac = divmod(value, 10**precision)
    return f"{whole}.{frac:0{precision}d}".rstrip("0") if frac else str(whole)
