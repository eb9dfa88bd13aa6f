"""cluster-data files (DESIGN §2): MasterNodesUpdated."""

from __future__ import annotations

from pathlib import Path

import pytest

from job_run_aggregator.errors import InputError
from job_run_aggregator.artifacts.parse.cluster_data import is_cluster_data_path, parse_cluster_data

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param((FIXTURES / "cluster-data_20230214-113905.json").read_bytes(), "Y", id="real"),
        pytest.param(b'{"MasterNodesUpdated": "N", "CloudPlatform": "gcp"}', "N", id="not-updated"),
        pytest.param(b'{"MasterNodesUpdated": ""}', "", id="empty"),
        pytest.param(b'{"MasterNodesUpdated": null}', "", id="null"),
        pytest.param(b'{"CloudPlatform": "aws", "Topology": "ha"}', "", id="older-origin-without-field"),
    ],
)
def test_parse_cluster_data(data: bytes, expected: str) -> None:
    assert parse_cluster_data(data, "cluster-data_x.json") == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(
            b'{"MasterNodesUpdated": "yes"}', 'MasterNodesUpdated is "yes", expected "Y", "N" or ""', id="word"
        ),
        pytest.param(
            b'{"MasterNodesUpdated": "y"}', 'MasterNodesUpdated is "y", expected "Y", "N" or ""', id="lowercase"
        ),
        pytest.param(
            b'{"MasterNodesUpdated": true}', "MasterNodesUpdated is a boolean, expected a string", id="boolean"
        ),
        pytest.param(b"null", "top level is null, expected an object", id="null-document"),
        pytest.param(
            b'{"MasterNodesUpdated": "Y"', "not valid JSON: Expecting ',' delimiter at line 1 column 27", id="truncated"
        ),
    ],
)
def test_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_cluster_data(data, "cluster-data_x.json")
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(
            "artifacts/e2e/openshift-e2e-test/artifacts/junit/cluster-data_20230214-113905.json", True, id="typical"
        ),
        pytest.param("cluster-data.json", True, id="bare"),
        pytest.param("artifacts/junit/cluster-data_20230214-113905.txt", False, id="not-json"),
        pytest.param("artifacts/cluster-data/other.json", False, id="directory-name-only"),
    ],
)
def test_is_cluster_data_path(path: str, expected: bool) -> None:
    assert is_cluster_data_path(path) is expected
