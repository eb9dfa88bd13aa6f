"""prowjob.json → `ProwJob` (DESIGN §2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import ProwJob
from job_run_aggregator.artifacts.parse.document import (
    JsonObject,
    field_path,
    load_json_object,
    optional_object,
    optional_string,
    required_string,
    show,
    string_map,
    wrong_type,
)

ANALYSIS_LABEL = "release.openshift.io/analysis"
AGGREGATION_ID_LABEL = "release.openshift.io/aggregation-id"
PAYLOAD_TAG_ANNOTATION = "release.openshift.io/tag"
FROM_PAYLOAD_TAG_ANNOTATION = "release.openshift.io/from-tag"

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\Z"
)
_BUILD_ID = re.compile(r"[0-9]+\Z")


def parse_rfc3339(text: str, where: str, path: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime (fractions beyond microseconds are truncated).

    Raises:
        InputError: not RFC 3339, or not a real date and time.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise InputError(f'{where} is {show(text)}, expected an RFC 3339 time such as "2023-02-14T10:12:04Z"', path)
    year, month, day, hour, minute, second, fraction, sign, offset_hours, offset_minutes = match.groups()
    microsecond = int((fraction or "")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
        if sign == "-":
            offset = -offset
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            microsecond,
            tzinfo=timezone(offset),
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InputError(f"{where} is {show(text)}, not a valid time ({error})", path) from None


def _optional_time(status: JsonObject, key: str, path: str) -> datetime | None:
    value = status.get(key)
    if value is None:
        return None
    where = field_path("status", key)
    if not isinstance(value, str):
        raise wrong_type(where, value, "an RFC 3339 time string", path)
    return parse_rfc3339(value, where, path)


def parse_prowjob(data: bytes, path: str, build_id: str | None = None) -> ProwJob:
    """Parse prowjob.json; `build_id` is the run folder's name and wins over `status.build_id` (as in Go).

    `status.completionTime` absent or null gives `completion_time=None`: the run has not finished.

    Raises:
        InputError: not a ProwJob, or a used field is missing or has the wrong type.
    """
    document = load_json_object(data, path)
    spec = optional_object(document, "spec", "", path)
    status = optional_object(document, "status", "", path)
    metadata = optional_object(document, "metadata", "", path)
    job_name = required_string(spec, "job", "spec", path)
    if not job_name:
        raise InputError("spec.job is empty", path)
    labels = string_map(metadata, "labels", "metadata", path)
    annotations = string_map(metadata, "annotations", "metadata", path)
    return ProwJob(
        job_name=job_name,
        build_id=build_id if build_id is not None else _status_build_id(status, path),
        state=required_string(status, "state", "status", path),
        start_time=_optional_time(status, "startTime", path),
        completion_time=_optional_time(status, "completionTime", path),
        cluster=optional_string(spec, "cluster", "spec", path),
        release_tag=labels.get(ANALYSIS_LABEL, ""),
        payload_tag=annotations.get(PAYLOAD_TAG_ANNOTATION, ""),
        from_payload_tag=annotations.get(FROM_PAYLOAD_TAG_ANNOTATION, ""),
        aggregation_id=labels.get(AGGREGATION_ID_LABEL, ""),
    )


def _status_build_id(status: JsonObject, path: str) -> str:
    value = required_string(status, "build_id", "status", path)
    if not _BUILD_ID.match(value):
        raise InputError(f"status.build_id is {show(value)}, expected decimal digits", path)
    return value
