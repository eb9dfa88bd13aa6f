"""The command line's one vocabulary: shared options (one name and one help text per idea), the old names each
command still accepts, durations, UTC times, reading input files and the `--json` summary.

Names: `--job` selects jobs (a name or a glob, repeatable), `--output-file` is a file a command writes,
`--output-dir` a folder it writes into, `--release` is always a job's release (a variant field) and
`--target-release` the release an export or a comparison is for. Older and Go-tool spellings keep working as hidden
aliases (ALIASES), rewritten before the command parses its arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import typer

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.model import MAX_DAYS

# ---- shared options -------------------------------------------------------------------------------------------

JOB = typer.Option(None, "--job", metavar="GLOB", help="Only jobs whose name matches this glob (repeatable).")
ONE_JOB_HELP = "The job's name (selects its JobType)."
OUTPUT_FILE_HELP = "File to write"
OUTPUT_DIR_HELP = "Folder to write into"
JSON = typer.Option(False, "--json", help="Print a machine-readable JSON summary on stdout (messages stay on stderr).")
NOW = typer.Option(None, "--now", help="End of the window, UTC (default: now).")
DATA_TYPE = typer.Option("disruptions", "--data-type", help="disruptions or alerts.")
RELEASE = typer.Option(None, "--release", help="The job's release, e.g. 4.14.")
FROM_RELEASE = typer.Option(None, "--from-release", help="The release an upgrade job starts from, e.g. 4.13.")
PLATFORM = typer.Option(None, "--platform", help="Cloud platform, e.g. aws, gcp, azure, metal.")
ARCHITECTURE = typer.Option(None, "--architecture", help="CPU architecture: amd64, arm64, ppc64le, s390x.")
NETWORK = typer.Option(None, "--network", help="Network plugin: ovn or sdn.")
TOPOLOGY = typer.Option(None, "--topology", help="ha or single (node).")
MIN_JOB_RUNS_EXPORT = typer.Option(
    None, "--min-job-runs",
    help="Keep variants with at least this many runs (default 100 for disruptions, 0 for alerts).",
)

# Old spellings, per command: rewritten to the current name before parsing (see JraGroup.resolve_command).
ALIASES: dict[str, dict[str, str]] = {
    "export-historical-data": {"--out": "--output-file", "--release": "--target-release"},
    "analyze-historical-data": {"--release": "--target-release"},
    "generate-sample-data": {"--out": "--output-dir"},
    "export-calibration": {"--out": "--output-file"},
    "demo": {"--dir": "--output-dir"},
    "schedule": {"--export-dir": "--output-dir", "--release": "--target-release"},
    "analyze-job-runs": {"--working-dir": "--output-dir"},
    "match": {"--job-name": "--job"},
    "check-run": {"--job-name": "--job"},
}


def rewrite_aliases(command: str, args: Sequence[str]) -> list[str]:
    """Replace the old option names of `command` in `args` (`--out x` and `--out=x`), stopping at `--`."""
    aliases = ALIASES.get(command)
    if not aliases:
        return list(args)
    out: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return out + list(args[index:])
        name, eq, value = arg.partition("=")
        out.append(aliases[name] + eq + value if name in aliases else arg)
    return out


# ---- values ---------------------------------------------------------------------------------------------------

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
    if seconds > MAX_DAYS * 86400:
        raise ConfigError(f"duration {text!r} is longer than {MAX_DAYS} days")
    return timedelta(seconds=seconds)


# Command-line times must lie where CI data can (as the dashboard's `now`): windows reach back weeks from them,
# and a year-1 time would overflow the arithmetic instead of giving a message.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=timezone.utc)


def utc(moment: datetime | None) -> datetime | None:
    """A command-line time in UTC: naive times are UTC already, aware ones are converted.

    Raises:
        ConfigError: a time outside [2000-01-01, 2100-01-01).
    """
    if moment is None:
        return None
    try:
        aware = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except OverflowError:
        aware = EARLIEST_TIME - timedelta(days=1)  # converting pushed it before year 1: out of range below
    if not EARLIEST_TIME <= aware < LATEST_TIME:
        raise ConfigError(f"time {moment.isoformat()} is out of range (2000-01-01 to 2100-01-01)")
    return aware


def read_input(path: Path) -> bytes:
    """Read an input file the user named.

    Raises:
        InputError: it cannot be read (naming the file and the reason).
    """
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=str(path)) from None


def print_json(value: Mapping[str, Any] | Sequence[Any]) -> None:
    """Print the `--json` summary: one JSON document on one line of stdout."""
    from job_run_aggregator.cli.main import stdout

    stdout.out(json.dumps(value, default=str), highlight=False)
