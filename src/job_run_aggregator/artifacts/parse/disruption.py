"""backend-disruption_<timestamp>.json → seconds per backend, and the run-level combination (DESIGN §3.1)."""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from job_run_aggregator.errors import InputError
from job_run_aggregator.artifacts.parse.document import (
    field_path,
    load_json_object,
    required_string,
    show,
    wrong_type,
)
from job_run_aggregator.artifacts.parse.durations import parse_duration_seconds

# The Go uploader matched `/backend-disruption[^/]*` anywhere under the run; that also caught
# directories and non-JSON files, so we take only the file name and require `.json`.
_FILE_NAME = re.compile(r"backend-disruption[^/]*\.json\Z")


def is_disruption_path(path: str) -> bool:
    """Tell whether an object path under a run is a backend-disruption file."""
    return _FILE_NAME.match(posixpath.basename(path)) is not None


def parse_disruption_file(data: bytes, path: str) -> dict[str, float]:
    """Parse one backend-disruption file into disrupted seconds per backend, keyed by each entry's `Name`.

    Unknown fields (ConnectionType, DisruptionMessages, BackendName, LoadBalancerType, Protocol, TargetAPI, …)
    are accepted and ignored. A null `BackendDisruptions` means no backends (Go decodes it as an empty map).

    Raises:
        InputError: the file is not a backend-disruption document, or an entry is malformed.
    """
    document = load_json_object(data, path)
    if "BackendDisruptions" not in document:
        raise InputError("BackendDisruptions is missing; not a backend-disruption file", path)
    backends = document["BackendDisruptions"]
    if backends is None:
        return {}
    if not isinstance(backends, dict):
        raise wrong_type("BackendDisruptions", backends, "an object keyed by backend", path)
    seconds: dict[str, float] = {}
    for key, entry in backends.items():
        name = entry.get("Name") if isinstance(entry, dict) else None
        value = entry.get("DisruptedDuration") if isinstance(entry, dict) else None
        if type(name) is str and name and name.isascii() and name not in seconds and type(value) is str:
            try:
                seconds[name] = _seconds(value)
                continue
            except InputError:
                pass
        # Something is off: the checks below build the field path (costly per entry) and say what.
        where = field_path("BackendDisruptions", key)
        if not isinstance(entry, dict):
            raise wrong_type(where, entry, "an object", path)
        name = required_string(entry, "Name", where, path)
        if not name:
            raise InputError(f"{field_path(where, 'Name')} is empty", path)
        if name in seconds:
            raise InputError(f"{field_path(where, 'Name')} {show(name)} appears twice in the file", path)
        seconds[name] = _disrupted_seconds(entry, where, path)
    return seconds


# Files repeat a few durations ("0s", "1s", …) thousands of times; errors are raised, never cached.
_seconds = lru_cache(maxsize=4096)(parse_duration_seconds)


def _disrupted_seconds(entry: Mapping[str, object], where: str, path: str) -> float:
    here = field_path(where, "DisruptedDuration")
    if "DisruptedDuration" not in entry:
        raise InputError(f"{here} is missing", path)
    value = entry["DisruptedDuration"]
    if not isinstance(value, str):
        raise wrong_type(here, value, 'a Go duration string such as "2.4s"', path)
    try:
        return parse_duration_seconds(value)
    except InputError as error:
        raise InputError(f"{here}: {error.reason}", path) from None


def combine_disruption(files: Iterable[Mapping[str, float]]) -> dict[str, int]:
    """Combine a run's files: ceil the seconds per file, then sum across files (the Go uploader's order)."""
    totals: dict[str, int] = {}
    for per_backend in files:
        for name, seconds in per_backend.items():
            totals[name] = totals.get(name, 0) + math.ceil(seconds)
    return totals
