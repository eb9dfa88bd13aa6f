"""Human durations in options: `--lookback 36h`, `--timeout 5h30m`, `--every 4h`."""

from __future__ import annotations

import re
from datetime import timedelta

from job_run_aggregator.errors import ConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration_option(text: str) -> timedelta:
    """Parse `1d12h`, `5h30m`, `90s` (units d, h, m, s); ConfigError otherwise."""
    t = text.strip()
    pos, seconds = 0, 0.0
    for m in _PART.finditer(t):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not t or pos != len(t):
        raise ConfigError(f"duration {text!r} not understood; use e.g. 24h, 5h30m, 2d, 90s")
    return timedelta(seconds=seconds)
