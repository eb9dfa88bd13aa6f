"""backend-disruption files (DESIGN §3.1): per-file parsing, ceil per file then sum, malformed files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from job_run_aggregator.errors import InputError
from job_run_aggregator.artifacts.parse.disruption import combine_disruption, is_disruption_path, parse_disruption_file

FIXTURES = Path(__file__).parent / "fixtures"
UPGRADE_PHASE = "backend-disruption_20230214-101532.json"  # older format
E2E_PHASE = "backend-disruption_20230214-113905.json"  # newer format: BackendName, LoadBalancerType, …
RUN = "artifacts/e2e-aws-ovn-upgrade/openshift-e2e-test/artifacts/junit"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_older_format_file() -> None:
    assert parse_disruption_file(read(UPGRADE_PHASE), f"{RUN}/{UPGRADE_PHASE}") == {
        "cache-kube-api-new-connections": 1.5e-06,
        "cache-kube-api-reused-connections": 0.0,
        "ingress-to-console-new-connections": 62.5,
        "ingress-to-console-reused-connections": 0.0,
        "kube-api-new-connections": 2.4,
        "kube-api-reused-connections": 0.0,
        "oauth-api-new-connections": 0.0,
        "openshift-api-new-connections": 0.75,
        "openshift-api-reused-connections": 0.0,
    }


def test_newer_format_fields_are_ignored() -> None:
    assert parse_disruption_file(read(E2E_PHASE), f"{RUN}/{E2E_PHASE}") == {
        "cache-kube-api-new-connections": 1e-07,
        "cache-kube-api-reused-connections": 0.0,
        "ingress-to-console-new-connections": 3.2,
        "ingress-to-console-reused-connections": 0.0,
        "kube-api-http1-localhost-new-connections": 3723.5,
        "kube-api-new-connections": 1.3,
        "kube-api-reused-connections": 0.0,
        "oauth-api-new-connections": 0.0,
        "openshift-api-new-connections": 0.5,
        "openshift-api-reused-connections": 0.0,
    }


def test_two_phase_run_ceils_per_file_then_sums() -> None:
    files = [parse_disruption_file(read(name), name) for name in (UPGRADE_PHASE, E2E_PHASE)]
    combined = combine_disruption(files)
    assert combined == {
        "cache-kube-api-new-connections": 2,  # 1.5µs → 1, 100ns → 1; summed first it would be 1
        "cache-kube-api-reused-connections": 0,
        "ingress-to-console-new-connections": 67,  # 62.5 → 63, 3.2 → 4; summed first: ceil(65.7) = 66
        "ingress-to-console-reused-connections": 0,
        "kube-api-http1-localhost-new-connections": 3724,  # only in the newer file
        "kube-api-new-connections": 5,  # 2.4 → 3, 1.3 → 2; summed first: ceil(3.7) = 4
        "kube-api-reused-connections": 0,
        "oauth-api-new-connections": 0,
        "openshift-api-new-connections": 2,  # 0.75 → 1, 0.5 → 1; the same either way
        "openshift-api-reused-connections": 0,
    }
    summed_first = {name: math.ceil(sum(per_file.get(name, 0.0) for per_file in files)) for name in combined}
    assert summed_first != combined  # the fixture numbers really tell the two orders apart


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param([], {}, id="no-files"),
        pytest.param([{}], {}, id="empty-file"),
        pytest.param([{"kube-api-new-connections": 0.0}], {"kube-api-new-connections": 0}, id="zero-kept"),
        pytest.param(
            [{"kube-api-new-connections": 0.1}] * 10, {"kube-api-new-connections": 10}, id="ten-tenths-are-ten"
        ),
        pytest.param(
            [{"oauth-api-new-connections": 2.0}, {"oauth-api-new-connections": 3.0}],
            {"oauth-api-new-connections": 5},
            id="whole-seconds",
        ),
        pytest.param(
            [{"openshift-api-reused-connections": 0.5}, {"kube-api-reused-connections": 0.5}],
            {"openshift-api-reused-connections": 1, "kube-api-reused-connections": 1},
            id="disjoint-backends",
        ),
    ],
)
def test_combine_disruption(files: list[dict[str, float]], expected: dict[str, int]) -> None:
    assert combine_disruption(files) == expected


def test_entries_are_keyed_by_their_name_not_the_map_key() -> None:
    data = json.dumps(
        {"BackendDisruptions": {"legacy-key": {"Name": "kube-api-new-connections", "DisruptedDuration": "2s"}}}
    ).encode()
    assert parse_disruption_file(data, "backend-disruption_x.json") == {"kube-api-new-connections": 2.0}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param({"BackendDisruptions": {}}, {}, id="no-backends"),
        pytest.param({"BackendDisruptions": None}, {}, id="null-backends-like-go"),
        pytest.param(
            {"BackendDisruptions": {"k": {"Name": "k", "DisruptedDuration": "0", "Extra": [1, {"x": None}]}}},
            {"k": 0.0},
            id="unknown-fields-any-type",
        ),
        pytest.param(
            {"BackendDisruptions": {"k": {"Name": "k", "DisruptedDuration": "1s"}}, "Version": 2},
            {"k": 1.0},
            id="unknown-top-level-field",
        ),
    ],
)
def test_edge_documents(document: object, expected: dict[str, float]) -> None:
    assert parse_disruption_file(json.dumps(document).encode(), "backend-disruption_x.json") == expected


BAD_PATH = "logs/periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn-upgrade/1625449494468857856/backend-disruption_x.json"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"", "not valid JSON: Expecting value at line 1 column 1", id="empty-file"),
        pytest.param(
            b'{"BackendDisruptions": {',
            "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 25",
            id="truncated",
        ),
        pytest.param(b"[]", "top level is a list, expected an object", id="top-level-list"),
        pytest.param(b"{}", "BackendDisruptions is missing; not a backend-disruption file", id="missing-root"),
        pytest.param(
            b'{"BackendDisruptions": []}',
            "BackendDisruptions is a list, expected an object keyed by backend",
            id="backends-list",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": "2s"}}',
            'BackendDisruptions["kube-api-new-connections"] is a string, expected an object',
            id="entry-string",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"DisruptedDuration": "2s"}}}',
            'BackendDisruptions["kube-api-new-connections"].Name is missing',
            id="name-missing",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": 7, "DisruptedDuration": "2s"}}}',
            'BackendDisruptions["kube-api-new-connections"].Name is a number (7), expected a string',
            id="name-number",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "", "DisruptedDuration": "2s"}}}',
            'BackendDisruptions["kube-api-new-connections"].Name is empty',
            id="name-empty",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"a": {"Name": "kube-api-new-connections", "DisruptedDuration": "2s"},'
            b' "b": {"Name": "kube-api-new-connections", "DisruptedDuration": "1s"}}}',
            'BackendDisruptions.b.Name "kube-api-new-connections" appears twice in the file',
            id="duplicate-name",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "kube-api-new-connections"}}}',
            'BackendDisruptions["kube-api-new-connections"].DisruptedDuration is missing',
            id="duration-missing",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "kube-api-new-connections", "DisruptedDuration": 2.4}}}',
            'BackendDisruptions["kube-api-new-connections"].DisruptedDuration is a number (2.4), expected a Go duration string such as "2.4s"',
            id="duration-number",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "kube-api-new-connections", "DisruptedDuration": null}}}',
            'BackendDisruptions["kube-api-new-connections"].DisruptedDuration is null, expected a Go duration string such as "2.4s"',
            id="duration-null",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "kube-api-new-connections", "DisruptedDuration": "2 seconds"}}}',
            'BackendDisruptions["kube-api-new-connections"].DisruptedDuration: unknown unit " seconds" in Go duration "2 seconds"',
            id="duration-prose",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "kube-api-new-connections", "DisruptedDuration": "-2s"}}}',
            'BackendDisruptions["kube-api-new-connections"].DisruptedDuration: Go duration "-2s" is negative',
            id="duration-negative",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "kube-api-new-connections", "DisruptedDuration": "3000000h"}}}',
            'BackendDisruptions["kube-api-new-connections"].DisruptedDuration: Go duration "3000000h" is out of range (more than int64 nanoseconds, about 292 years)',
            id="duration-overflow",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "\\ud800", "DisruptedDuration": "1s"}}}',
            'BackendDisruptions["kube-api-new-connections"].Name is not valid Unicode (lone surrogate escape)',
            id="lone-surrogate",
        ),
        pytest.param(
            b'{"BackendDisruptions": {"kube-api-new-connections": {"Name": "kube-api-new-connections", "DisruptedDuration": "1s", "Samples": NaN}}}',
            "not valid JSON: NaN is not valid JSON",
            id="nan-anywhere",
        ),
        pytest.param(
            b'\xff\xfe{"BackendDisruptions": {}}',
            "not UTF-8 text: invalid byte 0xff at offset 0",
            id="utf16-bom",
        ),
    ],
)
def test_malformed_files_name_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_disruption_file(data, BAD_PATH)
    assert caught.value.reason == reason
    assert caught.value.path == BAD_PATH
    assert str(caught.value) == f"{BAD_PATH}: {reason}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(f"{RUN}/backend-disruption_20230214-101532.json", True, id="typical"),
        pytest.param("backend-disruption_20230214-101532.json", True, id="run-root"),
        pytest.param("artifacts/e2e/gather-extra/backend-disruption.json", True, id="no-timestamp"),
        pytest.param(f"{RUN}/backend-disruption_20230214-101532.xml", False, id="not-json"),
        pytest.param(f"{RUN}/backend-disruption-timeline.html", False, id="html"),
        pytest.param("artifacts/backend-disruption_dir/intervals.json", False, id="directory-name-only"),
        pytest.param(f"{RUN}/e2e-timelines_spyglass_20230214-101532.json", False, id="other-json"),
        pytest.param(f"{RUN}/alerts_20230214-101532.json", False, id="alerts"),
        pytest.param(f"{RUN}/my-backend-disruption_1.json", False, id="prefix-must-start-the-name"),
    ],
)
def test_is_disruption_path(path: str, expected: bool) -> None:
    assert is_disruption_path(path) is expected
