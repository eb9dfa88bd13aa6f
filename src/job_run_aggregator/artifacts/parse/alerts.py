"""alerts_<timestamp>.json → alert durations, the run-level combination and zero injection (DESIGN §3.2)."""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import AlertDuration
from job_run_aggregator.artifacts.parse.document import (
    JsonObject,
    field_path,
    load_json_object,
    optional_string,
    required_string,
    wrong_type,
)
from job_run_aggregator.artifacts.parse.durations import parse_duration_ns, seconds_from_ns

# Like backend-disruption, the Go uploader matched the `alerts` prefix anywhere; we keep JSON files only.
_FILE_NAME = re.compile(r"alerts[^/]*\.json\Z")


class AlertKey(NamedTuple):
    """The natural key of an alert within a run."""

    name: str
    namespace: str
    level: str


def is_alerts_path(path: str) -> bool:
    """Tell whether an object path under a run is an alerts file."""
    return _FILE_NAME.match(posixpath.basename(path)) is not None


def parse_alerts_file(data: bytes, path: str) -> list[AlertDuration]:
    """Parse one alerts file into its alert durations, in file order.

    `Name`, `Level` and `Duration` are required; `Namespace` may be absent or null (cluster-scoped alerts).
    Any `Level` string is kept as is, so a level origin adds later is not lost.

    Raises:
        InputError: the file is not an alerts document, or an entry is malformed.
    """
    document = load_json_object(data, path)
    if "Alerts" not in document:
        raise InputError("Alerts is missing; not an alerts file", path)
    entries = document["Alerts"]
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise wrong_type("Alerts", entries, "a list", path)
    alerts: list[AlertDuration] = []
    for index, entry in enumerate(entries):
        where = field_path("Alerts", index)
        if not isinstance(entry, dict):
            raise wrong_type(where, entry, "an object", path)
        name = required_string(entry, "Name", where, path)
        if not name:
            raise InputError(f"{field_path(where, 'Name')} is empty", path)
        nanoseconds = _duration_ns(entry, where, path)
        alerts.append(
            AlertDuration(
                name=name,
                namespace=optional_string(entry, "Namespace", where, path),
                level=required_string(entry, "Level", where, path),
                seconds=seconds_from_ns(nanoseconds),
                nanoseconds=nanoseconds,
            )
        )
    return alerts


def _duration_ns(entry: JsonObject, where: str, path: str) -> int:
    here = field_path(where, "Duration")
    if "Duration" not in entry:
        raise InputError(f"{here} is missing", path)
    value = entry["Duration"]
    if not isinstance(value, str):
        raise wrong_type(here, value, 'a Go duration string such as "4m30s"', path)
    try:
        return parse_duration_ns(value)
    except InputError as error:
        raise InputError(f"{here}: {error.reason}", path) from None


def combine_alerts(files: Iterable[Iterable[AlertDuration]]) -> dict[AlertKey, int]:
    """Combine a run's files: sum the durations per key across files first, then ceil once (the Go order)."""
    totals: dict[AlertKey, int] = {}
    for alerts in files:
        for alert in alerts:
            key = AlertKey(alert.name, alert.namespace, alert.level)
            nanoseconds = alert.nanoseconds if alert.nanoseconds is not None else round(alert.seconds * 1e9)
            totals[key] = totals.get(key, 0) + nanoseconds
    # Go summed time.Duration values, then took math.Ceil(d.Seconds()).
    return {key: math.ceil(seconds_from_ns(total)) for key, total in totals.items()}


def inject_zero_alerts(
    run_alerts: Mapping[AlertKey, int], known: Iterable[tuple[str, str, str]], *, had_alert_files: bool
) -> dict[AlertKey, int]:
    """Add a 0-second entry for every known alert key the run did not report, when the run had alert files.

    Known keys are those seen before for the job's release; the zeros let percentiles count the runs in which
    an alert did not fire. A run without any alert file gets nothing injected: it has no alert data at all.
    """
    combined = {AlertKey(*key): seconds for key, seconds in run_alerts.items()}
    if not had_alert_files:
        return combined
    for key in known:
        combined.setdefault(AlertKey(*key), 0)
    return combined
