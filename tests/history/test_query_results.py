from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from job_run_aggregator.errors import InputError
from job_run_aggregator.history.results_file import (
    format_percentile,
    read_query_results,
    render_query_results,
    rows_for_release,
    sort_key,
)

from paths import FIXTURES as _FIXTURES, REFERENCE

FIXTURES = _FIXTURES / "query_results"
REFERENCE_FILES = [
    "backend_query_results_2022-12.json",
    "alerts_query_results_2022-12.json",
    "backend_query_results_2025-current.json",
]


def _reference(name: str) -> bytes:
    return (REFERENCE / name).read_bytes()


def _percentile_strings() -> list[str]:
    return [
        value
        for name in REFERENCE_FILES
        for row in json.loads(_reference(name))
        for column, value in row.items()
        if re.fullmatch(r"P\d+", column)
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.77999999999999536, "0.77999999999999536", id="17-digits-where-repr-is-shorter"),
        pytest.param(2.3999999999999817, "2.3999999999999817", id="17-digits"),
        pytest.param(1.249999999999994, "1.249999999999994", id="16-digits"),
        pytest.param(70.27, "70.27", id="15-digits-round-trip"),
        pytest.param(0.00999999999999468, "0.00999999999999468", id="small"),
        pytest.param(8.0, "8.0", id="whole-float"),
        pytest.param(8, "8.0", id="int"),
        pytest.param(0.0, "0.0", id="zero"),
        pytest.param(-0.0, "0.0", id="negative-zero"),
        pytest.param(None, "0.0", id="null"),
        pytest.param(Decimal("2.5"), "2.5", id="decimal"),
        pytest.param(1e-05, "1e-05", id="exponent-kept"),
        pytest.param("5.6799999999999908", "5.6799999999999908", id="string-verbatim"),
        pytest.param("0.78", "0.78", id="short-string-verbatim"),
    ],
)
def test_format_percentile(value: float | str | None, expected: str) -> None:
    assert format_percentile(value) == expected


def test_format_percentile_reproduces_every_reference_value() -> None:
    strings = _percentile_strings()
    assert len(strings) == 28_470
    assert [s for s in strings if format_percentile(float(s)) != s] == []
    # Python's repr would not do: it shortens the 17-digit strings BigQuery gave.
    assert sum(repr(float(s)) != s for s in strings) == 136


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_percentile_round_trips(value: float) -> None:
    text = format_percentile(value)
    assert float(text) == value
    assert "." in text or "e" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(float("nan"), "percentile nan is not a finite number", id="nan"),
        pytest.param(float("inf"), "percentile inf is not a finite number", id="inf"),
        pytest.param(True, "percentile True is not a number", id="bool"),
    ],
)
def test_format_percentile_rejects(value: float, message: str) -> None:
    with pytest.raises(InputError) as raised:
        format_percentile(value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(
            {
                "BackendName": "cache-kube-api-new-connections",
                "Release": "4.12",
                "FromRelease": "4.11",
                "Platform": "aws",
                "Architecture": "amd64",
                "Network": "ovn",
                "Topology": "ha",
            },
            "cache-kube-api-new-connections_4.11_4.12_amd64_aws_ovn_ha",
            id="backend-upgrade",
        ),
        pytest.param(
            {
                "AlertName": "KubeAPIErrorBudgetBurn",
                "Release": "4.12",
                "FromRelease": "",
                "Platform": "gcp",
                "Architecture": "arm64",
                "Network": "sdn",
                "Topology": "single",
            },
            "KubeAPIErrorBudgetBurn__4.12_arm64_gcp_sdn_single",
            id="alert-no-upgrade",
        ),
    ],
)
def test_sort_key(row: dict[str, object], expected: str) -> None:
    assert sort_key(row) == expected


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in REFERENCE_FILES])
def test_reference_files_are_sorted_by_sort_key(name: str) -> None:
    rows = read_query_results(_reference(name), name)
    keys = [sort_key(row) for row in rows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    # It is the order of the joined string, not of the column tuple: "_" sorts between upper and lower case.
    columns = ("FromRelease", "Release", "Architecture", "Platform", "Network", "Topology")
    tuples = [(row.get("BackendName") or row.get("AlertName"), *(row[c] for c in columns)) for row in rows]
    assert tuples != sorted(tuples)


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in REFERENCE_FILES])
def test_reference_file_round_trips_byte_for_byte(name: str) -> None:
    data = _reference(name)
    assert render_query_results(read_query_results(data, name)) == data


def _original_objects(data: bytes) -> list[bytes]:
    """Cut a reference file into the bytes of its row objects, independently of the renderer."""
    assert data.startswith(b"[\n  {\n") and data.endswith(b"\n  }\n]")
    return re.findall(rb"  \{\n.*?\n  \}", data, flags=re.DOTALL)


@pytest.mark.parametrize(
    ("release", "count"), [pytest.param("4.19", 3348, id="4.19"), pytest.param("4.20", 3202, id="4.20")]
)
def test_current_format_release_rows_render_as_the_original_bytes(release: str, count: int) -> None:
    name = "backend_query_results_2025-current.json"
    data = _reference(name)
    rows = read_query_results(data, name)
    subset = rows_for_release(rows, release)
    assert len(subset) == count
    assert list(subset[0]) == [
        "BackendName",
        "Release",
        "FromRelease",
        "Platform",
        "Architecture",
        "Network",
        "Topology",
        "MasterNodesUpdated",
        "JobRuns",
        "P95",
        "P99",
        "P75",
        "P50",
    ]
    originals = [obj for obj in _original_objects(data) if f'"Release": "{release}",'.encode() in obj]
    assert len(originals) == count
    expected = b"[\n" + b",\n".join(originals) + b"\n]"
    assert render_query_results(subset) == expected


def test_read_keeps_columns_and_types() -> None:
    name = "backend_query_results_2025-current.json"
    rows = read_query_results(_reference(name), name)
    nulls = [row for row in rows if row["MasterNodesUpdated"] is None]
    assert len(nulls) == 4
    assert rows[0] == {
        "BackendName": "aws-network-liveness-new-connections",
        "Release": "4.19",
        "FromRelease": "4.17",
        "Platform": "aws",
        "Architecture": "amd64",
        "Network": "ovn",
        "Topology": "ha",
        "MasterNodesUpdated": "Y",
        "JobRuns": 4,
        "P95": "0.0",
        "P99": "0.0",
        "P75": "0.0",
        "P50": "0.0",
    }


def test_read_accepts_name_column() -> None:
    data = (
        b'[{"Name": "etcd-leader-changes", "Release": "4.12", "FromRelease": "", "Platform": "aws", '
        b'"Architecture": "amd64", "Network": "ovn", "Topology": "ha", "JobRuns": 3, "P95": "1.0", "P99": null}]'
    )
    rows = read_query_results(data, "x.json")
    assert rows[0]["Name"] == "etcd-leader-changes"
    assert sort_key(rows[0]) == "etcd-leader-changes__4.12_amd64_aws_ovn_ha"
    assert b'"P99": "0.0"' in render_query_results(rows)


_GOOD = (
    '"BackendName": "b", "Release": "4.12", "FromRelease": "", "Platform": "aws", '
    '"Architecture": "amd64", "Network": "ovn", "Topology": "ha"'
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b"[{",
            "q.json: not valid JSON (Expecting property name enclosed in double quotes at line 1 column 3)",
            id="bad-json",
        ),
        pytest.param(b"\xff[]", "q.json: not UTF-8 (invalid start byte at byte 0)", id="not-utf8"),
        pytest.param(b'{"a": 1}', "q.json: expected a JSON array of rows, found an object", id="not-array"),
        pytest.param(b"[[]]", "q.json: row 0: expected an object, found an array", id="row-not-object"),
        pytest.param(
            b'[{"Release": "4.12"}]',
            "q.json: row 0: row has none of the name columns BackendName, AlertName, Name",
            id="no-name",
        ),
        pytest.param(
            ("[{" + _GOOD + ', "JobRuns": 1, "P95": "0.0"}]').encode(),
            "q.json: row 0: missing column P99",
            id="missing-p99",
        ),
        pytest.param(
            b'[{"BackendName": "b", "Release": "4.12"}]',
            "q.json: row 0: missing columns FromRelease, Platform, Architecture, Network, Topology, JobRuns, P95, P99",
            id="missing-many",
        ),
        pytest.param(
            ("[{" + _GOOD + ', "JobRuns": "12", "P95": "0.0", "P99": "0.0"}]').encode(),
            "q.json: row 0: JobRuns is '12', expected an integer",
            id="jobruns-string",
        ),
        pytest.param(
            ("[{" + _GOOD + ', "JobRuns": 12, "P95": "fast", "P99": "0.0"}]').encode(),
            "q.json: row 0: P95: percentile 'fast' is not a number",
            id="p95-not-number",
        ),
        pytest.param(
            ("[{" + _GOOD.replace('"4.12"', "4.12") + ', "JobRuns": 12, "P95": "0.0", "P99": "0.0"}]').encode(),
            "q.json: row 0: Release is a number, expected a string",
            id="release-number",
        ),
        pytest.param(
            ("[{" + _GOOD + ', "JobRuns": 1, "JobRuns": 2, "P95": "0.0", "P99": "0.0"}]').encode(),
            "q.json: a row has the column 'JobRuns' twice",
            id="duplicate-column",
        ),
        pytest.param(
            (
                "[{"
                + _GOOD
                + ', "JobRuns": 1, "P95": "0.0", "P99": "0.0"}, {'
                + _GOOD.replace("BackendName", "AlertName")
                + ', "JobRuns": 1, "P95": "0.0", "P99": "0.0"}]'
            ).encode(),
            "q.json: rows mix the name columns AlertName, BackendName",
            id="mixed-names",
        ),
    ],
)
def test_read_rejects(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as raised:
        read_query_results(data, "q.json")
    assert str(raised.value) == message
    assert raised.value.path == "q.json"


def _variant(
    name: str, release: str, from_release: str, platform: str, arch: str, network: str, topology: str
) -> dict[str, object]:
    return {
        "BackendName": name,
        "Release": release,
        "FromRelease": from_release,
        "Platform": platform,
        "Architecture": arch,
        "Network": network,
        "Topology": topology,
    }


@pytest.mark.parametrize(
    ("rows", "fixture"),
    [
        pytest.param(
            [
                # As a percentile query returns them: floats, null, an int, not in file order.
                {
                    **_variant("kube-api-new-connections", "4.12", "", "gcp", "amd64", "sdn", "ha"),
                    "JobRuns": 124,
                    "P95": 4.0,
                    "P99": 9.6199999999999939,
                },
                {
                    **_variant("cache-kube-api-new-connections", "4.12", "4.12", "aws", "amd64", "ovn", "ha"),
                    "JobRuns": 250,
                    "P95": None,
                    "P99": 70.27,
                },
                {
                    "P99": 8,
                    "P95": 2.3999999999999817,
                    "JobRuns": 413,
                    **_variant("cache-kube-api-new-connections", "4.12", "4.11", "azure", "amd64", "sdn", "ha"),
                },
                {
                    **_variant("cache-kube-api-new-connections", "4.12", "4.11", "aws", "amd64", "ovn", "ha"),
                    "JobRuns": 523,
                    "P95": 0.0,
                    "P99": 0.77999999999999536,
                },
            ],
            "backend_export_2022_format.json",
            id="2022-format",
        ),
        pytest.param(
            [
                {
                    "P50": 0.0,
                    "P75": 0.4,
                    "P99": 481.12,
                    "P95": 11.39,
                    "JobRuns": 937,
                    "MasterNodesUpdated": "Y",
                    **_variant(
                        "ci-cluster-network-liveness-new-connections", "4.20", "4.19", "aws", "arm64", "ovn", "ha"
                    ),
                },
                {
                    **_variant(
                        "ci-cluster-network-liveness-new-connections", "4.20", "", "aws", "amd64", "ovn", "microshift"
                    ),
                    "JobRuns": 121,
                    "P50": 0,
                    "P75": 0,
                    "P95": 0,
                    "P99": 1.98,
                    "MasterNodesUpdated": None,
                },
            ],
            "backend_export_2025_format.json",
            id="2025-format-extra-columns",
        ),
        pytest.param(
            [
                {
                    "AlertName": 'KubeAPIErrorBudgetBurn<critical> & "quoted"\tcafé\u2028',
                    "Release": "4.12",
                    "FromRelease": "4.11",
                    "Platform": "aws",
                    "Architecture": "amd64",
                    "Network": "ovn",
                    "Topology": "ha",
                    "JobRuns": 0,
                    "P95": "0.0",
                    "P99": 11.0,
                },
            ],
            "alerts_export_escaping.json",
            id="go-escaping",
        ),
    ],
)
def test_render_matches_hand_written_file(rows: list[dict[str, object]], fixture: str) -> None:
    expected = (FIXTURES / fixture).read_bytes()
    assert render_query_results(rows) == expected
    assert not expected.endswith(b"\n")
    assert render_query_results(read_query_results(expected, fixture)) == expected


def test_render_places_unknown_columns_last_with_go_numbers() -> None:
    row = {
        "Comment": "x",
        "MeanSeconds": 1e-07,
        "Runs": 10.0,
        "Flag": True,
        **_variant("b", "4.12", "", "aws", "amd64", "ovn", "ha"),
        "JobRuns": 1,
        "P95": 1,
        "P99": 2,
        "P90": 1.5,
    }
    text = render_query_results([row]).decode()
    columns = re.findall(r'^    "(\w+)": (.*?),?$', text, flags=re.MULTILINE)
    assert columns == [
        ("BackendName", '"b"'),
        ("Release", '"4.12"'),
        ("FromRelease", '""'),
        ("Platform", '"aws"'),
        ("Architecture", '"amd64"'),
        ("Network", '"ovn"'),
        ("Topology", '"ha"'),
        ("JobRuns", "1"),
        ("P95", '"1.0"'),
        ("P99", '"2.0"'),
        ("P90", '"1.5"'),
        ("Comment", '"x"'),
        ("MeanSeconds", "1e-7"),
        ("Runs", "10"),
        ("Flag", "true"),
    ]


def test_render_empty_is_an_empty_array() -> None:
    assert render_query_results([]) == b"[]"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(
            {**_variant("b", "4.12", "", "aws", "amd64", "ovn", "ha"), "JobRuns": 1.5, "P95": 1, "P99": 2},
            "row 0 (b__4.12_amd64_aws_ovn_ha): JobRuns is 1.5, expected an integer",
            id="float-jobruns",
        ),
        pytest.param(
            {**_variant("b", "4.12", "", "aws", "amd64", "ovn", "ha"), "JobRuns": 1, "P95": float("nan"), "P99": 2},
            "row 0 (b__4.12_amd64_aws_ovn_ha): P95: percentile nan is not a finite number",
            id="nan-p95",
        ),
        pytest.param(
            {**_variant("b", "4.12", "", "aws", "amd64", "ovn", "ha"), "JobRuns": 1, "P95": 1, "P99": 2, "Tags": ["a"]},
            "row b__4.12_amd64_aws_ovn_ha: column Tags holds list, which query_results.json cannot hold",
            id="list-column",
        ),
    ],
)
def test_render_rejects(row: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as raised:
        render_query_results([row])
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("release", "count"),
    [
        pytest.param("4.19", 3348, id="4.19"),
        pytest.param("4.20", 3202, id="4.20"),
        pytest.param("4.12", 0, id="absent"),
    ],
)
def test_rows_for_release(release: str, count: int) -> None:
    name = "backend_query_results_2025-current.json"
    rows = rows_for_release(read_query_results(_reference(name), name), release)
    assert len(rows) == count
    assert {row["Release"] for row in rows} <= {release}
