"""prowjob.json (DESIGN §2)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import ProwJob
from job_run_aggregator.artifacts.parse.prowjob import parse_prowjob

FIXTURES = Path(__file__).parent / "fixtures"
JOB = "periodic-ci-openshift-release-master-ci-4.13-upgrade-from-stable-4.12-e2e-aws-ovn-upgrade"
BUILD_ID = "1625449494468857856"
PATH = f"logs/{JOB}/{BUILD_ID}/prowjob.json"
REAL = json.loads((FIXTURES / "prowjob.json").read_text())


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def changed(*edits: tuple[tuple[str, ...], object]) -> bytes:
    """The fixture with fields set (or removed, for `...`)."""
    document = copy.deepcopy(REAL)
    for keys, value in edits:
        target = document
        for key in keys[:-1]:
            target = target[key]
        if value is ...:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return encode(document)


def test_real_prowjob() -> None:
    assert parse_prowjob((FIXTURES / "prowjob.json").read_bytes(), PATH, BUILD_ID) == ProwJob(
        job_name=JOB,
        build_id=BUILD_ID,
        state="failure",
        start_time=datetime(2023, 2, 14, 9, 52, 4, tzinfo=UTC),
        completion_time=datetime(2023, 2, 14, 11, 26, 22, 500123, tzinfo=UTC),
        cluster="build05",
        release_tag="4.13.0-0.ci-2023-02-14-091022",
        payload_tag="4.13.0-0.ci-2023-02-14-091022",
        from_payload_tag="4.12.3",
        aggregation_id="4b9ff2a6-0f2e-4b5a-8a47-0c5f4a1f8d21",
    )


@pytest.mark.parametrize(
    ("data", "build_id", "field", "expected"),
    [
        pytest.param(changed(), None, "build_id", BUILD_ID, id="build-id-from-status"),
        pytest.param(changed(), "1625449494468857999", "build_id", "1625449494468857999", id="folder-name-wins"),
        pytest.param(
            changed((("status", "build_id"), ...)), BUILD_ID, "build_id", BUILD_ID, id="status-build-id-absent"
        ),
        pytest.param(
            changed((("status", "completionTime"), None)),
            BUILD_ID,
            "completion_time",
            None,
            id="completion-null-unfinished",
        ),
        pytest.param(
            changed((("status", "completionTime"), ...)),
            BUILD_ID,
            "completion_time",
            None,
            id="completion-absent-unfinished",
        ),
        pytest.param(changed((("status", "startTime"), ...)), BUILD_ID, "start_time", None, id="start-absent"),
        pytest.param(
            changed((("status", "startTime"), "2023-02-14T05:52:04-04:00")),
            BUILD_ID,
            "start_time",
            datetime(2023, 2, 14, 9, 52, 4, tzinfo=UTC),
            id="offset-converted-to-utc",
        ),
        pytest.param(
            changed((("status", "startTime"), "2023-02-14t09:52:04.123456789z")),
            BUILD_ID,
            "start_time",
            datetime(2023, 2, 14, 9, 52, 4, 123456, tzinfo=UTC),
            id="nanoseconds-truncated-lowercase",
        ),
        pytest.param(changed((("spec", "cluster"), ...)), BUILD_ID, "cluster", "", id="cluster-absent"),
        pytest.param(changed((("metadata", "labels"), ...)), BUILD_ID, "release_tag", "", id="labels-absent"),
        pytest.param(changed((("metadata", "labels"), None)), BUILD_ID, "aggregation_id", "", id="labels-null"),
        pytest.param(changed((("metadata", "annotations"), ...)), BUILD_ID, "payload_tag", "", id="annotations-absent"),
        pytest.param(changed((("metadata",), ...)), BUILD_ID, "from_payload_tag", "", id="metadata-absent"),
        pytest.param(changed((("status", "state"), "pending")), BUILD_ID, "state", "pending", id="pending"),
    ],
)
def test_fields(data: bytes, build_id: str | None, field: str, expected: object) -> None:
    assert getattr(parse_prowjob(data, PATH, build_id), field) == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b'"prowjob"', "top level is a string, expected an object", id="top-level-string"),
        pytest.param(changed((("spec",), ...)), "spec.job is missing", id="spec-absent"),
        pytest.param(changed((("spec",), [])), "spec is a list, expected an object", id="spec-list"),
        pytest.param(changed((("spec", "job"), ...)), "spec.job is missing", id="job-absent"),
        pytest.param(changed((("spec", "job"), "")), "spec.job is empty", id="job-empty"),
        pytest.param(changed((("spec", "job"), 42)), "spec.job is a number (42), expected a string", id="job-number"),
        pytest.param(
            changed((("spec", "cluster"), {"name": "build05"})),
            "spec.cluster is an object, expected a string",
            id="cluster-object",
        ),
        pytest.param(changed((("status", "state"), ...)), "status.state is missing", id="state-absent"),
        pytest.param(changed((("status",), "done")), "status is a string, expected an object", id="status-string"),
        pytest.param(
            changed((("status", "build_id"), "../../etc")),
            'status.build_id is "../../etc", expected decimal digits',
            id="build-id-path-traversal",
        ),
        pytest.param(
            changed((("status", "build_id"), 1625449494468857856)),
            "status.build_id is a number (1625449494468857856), expected a string",
            id="build-id-number",
        ),
        pytest.param(
            changed((("status", "startTime"), 1676368324)),
            "status.startTime is a number (1676368324), expected an RFC 3339 time string",
            id="start-epoch-number",
        ),
        pytest.param(
            changed((("status", "startTime"), "2023-02-14 09:52:04")),
            'status.startTime is "2023-02-14 09:52:04", expected an RFC 3339 time such as "2023-02-14T10:12:04Z"',
            id="start-no-zone",
        ),
        pytest.param(
            changed((("status", "completionTime"), "2023-02-30T09:52:04Z")),
            'status.completionTime is "2023-02-30T09:52:04Z", not a valid time (day is out of range for month)',
            id="february-30",
        ),
        pytest.param(
            changed((("status", "completionTime"), "0000-01-01T00:00:00Z")),
            'status.completionTime is "0000-01-01T00:00:00Z", not a valid time (year 0 is out of range)',
            id="year-zero",
        ),
        pytest.param(
            changed((("status", "completionTime"), "0001-01-01T00:00:00+01:00")),
            'status.completionTime is "0001-01-01T00:00:00+01:00", not a valid time (date value out of range)',
            id="before-year-one-in-utc",
        ),
        pytest.param(
            changed((("status", "completionTime"), "2023-02-14T09:52:04+25:00")),
            'status.completionTime is "2023-02-14T09:52:04+25:00", not a valid time '
            "(offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), "
            "not datetime.timedelta(days=1, seconds=3600).)",
            id="offset-25-hours",
        ),
        pytest.param(
            changed((("metadata", "labels"), ["release.openshift.io/analysis"])),
            "metadata.labels is a list, expected an object",
            id="labels-list",
        ),
        pytest.param(
            changed((("metadata", "labels", "release.openshift.io/analysis"), 4.13)),
            'metadata.labels["release.openshift.io/analysis"] is a number (4.13), expected a string',
            id="label-number",
        ),
        pytest.param(
            changed((("metadata", "annotations", "release.openshift.io/tag"), True)),
            'metadata.annotations["release.openshift.io/tag"] is a boolean, expected a string',
            id="annotation-boolean",
        ),
    ],
)
def test_malformed_prowjob(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_prowjob(data, PATH)
    assert caught.value.reason == reason
    assert caught.value.path == PATH
