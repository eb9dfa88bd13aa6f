"""Hostile input (issue 11): every parser either returns records or raises InputError — nothing else, ever.

Property-based over arbitrary bytes, arbitrary JSON, real-shaped documents with wrong types, huge numbers,
negative and overflowing durations, non-UTF-8 and deep nesting; plus a 100 MB file under tracemalloc.
"""

from __future__ import annotations

import copy
import io
import json
import math
import re
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import AlertDuration, ProwJob, StartedFinished, TestCase
from job_run_aggregator.artifacts.parse import (
    MAX_ARTIFACT_BYTES,
    combine_alerts,
    combine_disruption,
    parse_alerts_file,
    parse_cluster_data,
    parse_disruption_file,
    parse_duration_ns,
    parse_junit,
    parse_prowjob,
    parse_started_finished,
    read_capped,
)

PATH = "logs/periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn-upgrade/1625449494468857856/artifact"
INT64_MAX = (1 << 63) - 1
FIXTURES = Path(__file__).parent / "fixtures"

Parser = Callable[[bytes, str], object]
JSON_PARSERS: dict[str, Parser] = {
    "disruption": parse_disruption_file,
    "alerts": parse_alerts_file,
    "cluster-data": parse_cluster_data,
    "started-finished": parse_started_finished,
    "prowjob": parse_prowjob,
}
ALL_PARSERS: dict[str, Parser] = {**JSON_PARSERS, "junit": parse_junit}
FUZZ = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_record(record: object) -> None:
    """Whatever a parser returns must be safe to load: valid text, finite non-negative seconds, aware times."""
    if isinstance(record, (list, tuple)):
        for item in record:
            _check_record(item)
    elif isinstance(record, dict):
        for key, value in record.items():
            _check_record(key)
            assert isinstance(value, float) and math.isfinite(value) and value >= 0
    elif isinstance(record, str):
        assert _utf8(record)
    elif isinstance(record, AlertDuration):
        assert all(_utf8(text) for text in (record.name, record.namespace, record.level))
        assert record.nanoseconds is not None and 0 <= record.nanoseconds <= INT64_MAX
        assert math.isfinite(record.seconds) and record.seconds >= 0
    elif isinstance(record, TestCase):
        assert all(_utf8(text) for text in (record.name, record.suite)) and record.status in ("Passed", "Failed")
    elif isinstance(record, (ProwJob, StartedFinished)):
        for name in record.__slots__:  # type: ignore[attr-defined]
            value = getattr(record, name)
            if isinstance(value, str):
                assert _utf8(value)
            elif isinstance(value, datetime):
                assert value.tzinfo is not None and value.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    else:
        pytest.fail(f"unexpected record {record!r}")


def parse_or_input_error(parser: Parser, data: bytes) -> object | None:
    """Run a parser; only records or an InputError with a short, printable, path-carrying message are allowed."""
    try:
        result = parser(data, PATH)
    except InputError as error:
        assert error.path == PATH
        assert error.reason and len(error.reason) < 500
        assert _utf8(str(error))
        return None
    _check_record(result)
    return result


# --- strategies -------------------------------------------------------------------------------------------------

REAL_NAMES = [
    "kube-api-new-connections",
    "openshift-api-reused-connections",
    "ingress-to-console-new-connections",
    "cache-kube-api-new-connections",
    "KubeAPIErrorBudgetBurn",
    "etcdMembersDown",
    "openshift-etcd",
    "Warning",
    "Critical",
    "Y",
    "N",
    "",
]
EDGE_NUMBERS = [
    0, -1, 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**20, 10**64, 253_402_300_799, 253_402_300_800,
    1.5, -0.0, 1e308, -1e308, float("inf"), float("-inf"), float("nan"),
]  # fmt: skip
lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
hostile_text = st.one_of(
    st.sampled_from(REAL_NAMES),
    st.text(max_size=12),
    st.builds(lambda head, bad, tail: head + bad + tail, st.text(max_size=4), lone_surrogates, st.text(max_size=4)),
)
huge_numbers = st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers(), st.floats())
json_scalars = st.one_of(st.none(), st.booleans(), huge_numbers, hostile_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(hostile_text, children, max_size=3)),
    max_leaves=6,
)
go_units = st.sampled_from(["ns", "us", "\u00b5s", "\u03bcs", "ms", "s", "m", "h"])
duration_like = st.one_of(
    st.text(alphabet="0123456789.+-hmsunµμ", max_size=30),
    st.builds(
        lambda sign, parts: sign + "".join(f"{number}{unit}" for number, unit in parts),
        st.sampled_from(["", "-", "+"]),
        st.lists(
            st.tuples(
                st.one_of(
                    st.integers(min_value=0, max_value=10**25).map(str),
                    st.from_regex(r"\A[0-9]{0,20}\.[0-9]{0,25}\Z"),
                ),
                go_units,
            ),
            max_size=4,
        ),
    ),
    st.sampled_from(["-2.4s", "3000000h", "9223372036854775808ns", "-9223372036854775808ns", "1d", "0", "-0s"]),
)
rfc3339_like = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}".format,
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["", ".5", ".123456789123"]),
    st.sampled_from(["Z", "z", "+00:00", "-04:00", "+23:59", "+24:00", "-99:99"]),
)
hostile_values = st.one_of(huge_numbers, hostile_text, duration_like, rfc3339_like, json_values)
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T")
_DURATION = re.compile(r"[0-9.]+[a-zµμ]")


def _like(value: object) -> st.SearchStrategy[Any]:
    """Values of the same kind as a field's real value: the likeliest to slip past a type check."""
    if isinstance(value, str):
        return rfc3339_like if _TIME.match(value) else duration_like if _DURATION.match(value) else hostile_text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return huge_numbers
    return json_values


def _encode(document: object) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud800 escapes, which is how a hostile file would carry them;
    # NaN and Infinity come out as the bare words Go's decoder refuses.
    return json.dumps(document, ensure_ascii=True).encode()


def _slots(node: object) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON tree, so that any field at any depth can be broken."""
    found: list[tuple[Any, Any]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        keys: list[Any] = (
            list(current)
            if isinstance(current, dict)
            else list(range(len(current)))
            if isinstance(current, list)
            else []
        )
        for key in keys:
            found.append((current, key))
            stack.append(current[key])
    return found


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _compact_prowjob() -> object:
    """The real prowjob.json cut down to the fields we read plus a few, so mutations land where it matters."""
    real = _fixture("prowjob.json")
    keep = {
        "labels": ("created-by-prow", "release.openshift.io/analysis", "release.openshift.io/aggregation-id"),
        "annotations": ("release.openshift.io/tag", "release.openshift.io/from-tag"),
        "spec": ("type", "cluster", "job"),
        "status": ("startTime", "completionTime", "state", "build_id", "url"),
    }
    return {
        "kind": real["kind"],
        "metadata": {
            part: {key: real["metadata"][part][key] for key in keep[part]} for part in ("labels", "annotations")
        },
        "spec": {key: real["spec"][key] for key in keep["spec"]},
        "status": {key: real["status"][key] for key in keep["status"]},
    }


@st.composite
def broken(draw: st.DrawFn, bases: list[object]) -> bytes:
    """A real document with one to three fields replaced by hostile values or removed."""
    document = copy.deepcopy(draw(st.sampled_from(bases)))
    chooser = draw(st.randoms(use_true_random=False))  # uniform over fields; sampled_from favours early ones
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(document)
        if not slots:
            break
        leaves = [(container, key) for container, key in slots if not isinstance(container[key], (dict, list))]
        container, key = chooser.choice(leaves if leaves and chooser.random() < 0.8 else slots)
        if isinstance(container, dict) and chooser.random() < 0.2:
            del container[key]
        else:
            container[key] = draw(st.one_of(_like(container[key]), hostile_values))
    return _encode(document)


DISRUPTION_BASES = [
    _fixture("backend-disruption_20230214-101532.json"),
    _fixture("backend-disruption_20230214-113905.json"),
]
ALERTS_BASES = [_fixture("alerts_20230214-101532.json"), _fixture("alerts_20230214-113905.json")]
PROWJOB_BASES = [_compact_prowjob()]
STARTED_FINISHED_BASES = [_fixture("started.json"), _fixture("finished.json")]
CLUSTER_DATA_BASES = [_fixture("cluster-data_20230214-113905.json")]


@st.composite
def junit_documents(draw: st.DrawFn) -> bytes:
    tags = st.sampled_from(["testsuites", "testsuite", "testcase", "failure", "skipped", "error", "system-out", "x"])
    names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=10)

    def element(depth: int) -> str:
        tag = draw(tags)
        name = draw(names).replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        children = "" if depth > 4 else "".join(element(depth + 1) for _ in range(draw(st.integers(0, 3))))
        return f'<{tag} name="{name}">{children}</{tag}>'

    text = element(0)
    if draw(st.booleans()):  # corrupt it somewhere
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=5)) + text[cut:]
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16"])), errors="surrogatepass")


# --- properties -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_PARSERS))
@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    parse_or_input_error(ALL_PARSERS[name], data)


@pytest.mark.parametrize("name", sorted(JSON_PARSERS))
@FUZZ
@given(document=json_values)
def test_arbitrary_json(name: str, document: object) -> None:
    parse_or_input_error(JSON_PARSERS[name], _encode(document))


@pytest.mark.parametrize(
    ("name", "documents"),
    [
        pytest.param("disruption", broken(DISRUPTION_BASES), id="disruption"),
        pytest.param("alerts", broken(ALERTS_BASES), id="alerts"),
        pytest.param("prowjob", broken(PROWJOB_BASES), id="prowjob"),
        pytest.param("started-finished", broken(STARTED_FINISHED_BASES), id="started-finished"),
        pytest.param("cluster-data", broken(CLUSTER_DATA_BASES), id="cluster-data"),
        pytest.param("junit", junit_documents(), id="junit"),
    ],
)
@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_real_documents_with_broken_fields(name: str, documents: st.SearchStrategy[bytes], data: st.DataObject) -> None:
    parse_or_input_error(ALL_PARSERS[name], data.draw(documents))


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(broken(DISRUPTION_BASES), max_size=3))
def test_combining_whatever_parsed_stays_in_range(files: list[bytes]) -> None:
    parsed = [result for data in files if (result := parse_or_input_error(parse_disruption_file, data)) is not None]
    for seconds in combine_disruption(parsed).values():  # type: ignore[arg-type]
        assert 0 <= seconds <= len(parsed) * (INT64_MAX // 10**9 + 1)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(broken(ALERTS_BASES), max_size=3))
def test_combining_alerts_stays_in_range(files: list[bytes]) -> None:
    parsed = [result for data in files if (result := parse_or_input_error(parse_alerts_file, data)) is not None]
    for seconds in combine_alerts(parsed).values():  # type: ignore[arg-type]
        assert 0 <= seconds <= len(parsed) * 5 * (INT64_MAX // 10**9 + 1)


@settings(max_examples=200, deadline=None, database=None)
@given(text=duration_like)
def test_durations_are_int64_or_input_error(text: str) -> None:
    try:
        nanoseconds = parse_duration_ns(text, allow_negative=True)
    except InputError as error:
        assert error.reason.startswith(("invalid Go duration", "Go duration", "unknown unit"))
        return
    assert -(1 << 63) <= nanoseconds <= INT64_MAX


UNIT_NS = {"h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


@settings(max_examples=200, deadline=None, database=None)
@given(
    parts=st.lists(st.tuples(st.integers(0, 10**20), st.sampled_from(sorted(UNIT_NS))), min_size=1, max_size=6),
    negative=st.booleans(),
)
def test_whole_number_durations_are_exact_or_out_of_range(parts: list[tuple[int, str]], negative: bool) -> None:
    text = ("-" if negative else "") + "".join(f"{number}{unit}" for number, unit in parts)
    exact = sum(number * UNIT_NS[unit] for number, unit in parts)
    limit = (1 << 63) if negative else INT64_MAX
    if exact > limit:
        with pytest.raises(InputError, match="is out of range"):
            parse_duration_ns(text, allow_negative=True)
    else:
        assert parse_duration_ns(text, allow_negative=True) == (-exact if negative else exact)
        if negative and exact:
            with pytest.raises(InputError, match="is negative"):
                parse_duration_ns(text)


@settings(max_examples=200, deadline=None, database=None)
@given(whole=st.integers(0, 10**6), fraction=st.from_regex(r"\A[0-9]{1,9}\Z"))
def test_fractional_seconds_are_nanosecond_exact(whole: int, fraction: str) -> None:
    expected = whole * 1_000_000_000 + int(fraction.ljust(9, "0"))
    assert parse_duration_ns(f"{whole}.{fraction}s") == expected


@pytest.mark.parametrize("name", sorted(JSON_PARSERS))
@FUZZ
@given(
    document=json_values,
    position=st.integers(min_value=0),
    garbage=st.binary(min_size=1, max_size=3).filter(lambda b: b[0] >= 0x80),
)
def test_non_utf8_json_is_an_input_error(name: str, document: object, position: int, garbage: bytes) -> None:
    data = _encode(document)
    cut = position % (len(data) + 1)
    corrupted = data[:cut] + garbage + data[cut:]
    try:
        corrupted.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(InputError, match="not UTF-8 text: invalid byte 0x"):
            JSON_PARSERS[name](corrupted, PATH)


@pytest.mark.parametrize("name", sorted(JSON_PARSERS))
@pytest.mark.parametrize("depth", [pytest.param(2_000, id="2k"), pytest.param(200_000, id="200k")])
def test_deeply_nested_json_is_an_input_error(name: str, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    data = f'{{"BackendDisruptions": {nested}, "Alerts": {nested}, "spec": {nested}, "timestamp": {nested}}}'.encode()
    with pytest.raises(InputError) as caught:
        JSON_PARSERS[name](data, PATH)
    assert caught.value.reason == "not valid JSON: nested too deeply"


def test_deeply_nested_xml_is_not_a_recursion_problem() -> None:
    depth = 100_000
    data = b"<testsuites>" + b'<testsuite name="s">' * depth + b"</testsuite>" * depth + b"</testsuites>"
    with pytest.raises(InputError, match="testsuite elements nested more than 64 deep"):
        parse_junit(data, PATH)


# --- every kept string field, every parser: lone surrogates and giant numbers --------------------------------------

KEPT_STRING_FIELDS = [
    pytest.param(
        "disruption",
        "backend-disruption_20230214-113905.json",
        ("BackendDisruptions", "kube-api-new-connections", "Name"),
        id="disruption-name",
    ),
    pytest.param("alerts", "alerts_20230214-101532.json", ("Alerts", 0, "Name"), id="alerts-name"),
    pytest.param("alerts", "alerts_20230214-101532.json", ("Alerts", 1, "Namespace"), id="alerts-namespace"),
    pytest.param("alerts", "alerts_20230214-101532.json", ("Alerts", 2, "Level"), id="alerts-level"),
    pytest.param("cluster-data", "cluster-data_20230214-113905.json", ("MasterNodesUpdated",), id="cluster-data"),
    pytest.param("started-finished", "finished.json", ("result",), id="finished-result"),
    pytest.param("prowjob", "prowjob.json", ("spec", "job"), id="prowjob-job"),
    pytest.param("prowjob", "prowjob.json", ("spec", "cluster"), id="prowjob-cluster"),
    pytest.param("prowjob", "prowjob.json", ("status", "state"), id="prowjob-state"),
    pytest.param(
        "prowjob", "prowjob.json", ("metadata", "labels", "release.openshift.io/analysis"), id="prowjob-analysis"
    ),
    pytest.param(
        "prowjob",
        "prowjob.json",
        ("metadata", "labels", "release.openshift.io/aggregation-id"),
        id="prowjob-aggregation",
    ),
    pytest.param("prowjob", "prowjob.json", ("metadata", "annotations", "release.openshift.io/tag"), id="prowjob-tag"),
    pytest.param(
        "prowjob", "prowjob.json", ("metadata", "annotations", "release.openshift.io/from-tag"), id="prowjob-from-tag"
    ),
]


READ_FIELDS = KEPT_STRING_FIELDS + [
    pytest.param(
        "disruption",
        "backend-disruption_20230214-101532.json",
        ("BackendDisruptions", "kube-api-new-connections", "DisruptedDuration"),
        id="disruption-duration",
    ),
    pytest.param(
        "disruption",
        "backend-disruption_20230214-101532.json",
        ("BackendDisruptions", "kube-api-new-connections"),
        id="disruption-entry",
    ),
    pytest.param(
        "disruption", "backend-disruption_20230214-101532.json", ("BackendDisruptions",), id="disruption-root"
    ),
    pytest.param("alerts", "alerts_20230214-113905.json", ("Alerts", 3, "Duration"), id="alerts-duration"),
    pytest.param("alerts", "alerts_20230214-113905.json", ("Alerts", 0), id="alerts-entry"),
    pytest.param("alerts", "alerts_20230214-113905.json", ("Alerts",), id="alerts-root"),
    pytest.param("started-finished", "started.json", ("timestamp",), id="started-timestamp"),
    pytest.param("started-finished", "finished.json", ("passed",), id="finished-passed"),
    pytest.param("prowjob", "prowjob.json", ("status", "startTime"), id="prowjob-start"),
    pytest.param("prowjob", "prowjob.json", ("status", "completionTime"), id="prowjob-completion"),
    pytest.param("prowjob", "prowjob.json", ("status", "build_id"), id="prowjob-build-id"),
    pytest.param("prowjob", "prowjob.json", ("metadata", "labels"), id="prowjob-labels"),
    pytest.param("prowjob", "prowjob.json", ("status",), id="prowjob-status"),
]


@pytest.mark.parametrize(("name", "fixture", "keys"), READ_FIELDS)
@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data())
def test_every_read_field_with_hostile_values(
    name: str, fixture: str, keys: tuple[Any, ...], data: st.DataObject
) -> None:
    document = _fixture(fixture)
    original = document
    for key in keys:
        original = original[key]
    _set(document, keys, data.draw(st.one_of(_like(original), hostile_values)))
    parse_or_input_error(JSON_PARSERS[name], _encode(document))


@pytest.mark.parametrize(("name", "fixture", "keys"), READ_FIELDS)
def test_every_edge_number_in_every_read_field(name: str, fixture: str, keys: tuple[Any, ...]) -> None:
    for number in EDGE_NUMBERS:
        document = _fixture(fixture)
        _set(document, keys, number)
        parse_or_input_error(JSON_PARSERS[name], _encode(document))


def _set(document: Any, keys: tuple[Any, ...], value: object) -> None:
    for key in keys[:-1]:
        document = document[key]
    document[keys[-1]] = value


@pytest.mark.parametrize(("name", "fixture", "keys"), KEPT_STRING_FIELDS)
def test_lone_surrogate_in_a_kept_field_is_an_input_error(name: str, fixture: str, keys: tuple[Any, ...]) -> None:
    document = _fixture(fixture)
    _set(document, keys, "kube\ud800api")
    with pytest.raises(InputError, match=r"is not valid Unicode \(lone surrogate escape\)"):
        JSON_PARSERS[name](_encode(document), PATH)


@pytest.mark.parametrize(("name", "fixture", "keys"), KEPT_STRING_FIELDS)
def test_giant_number_in_any_field_is_an_input_error(name: str, fixture: str, keys: tuple[Any, ...]) -> None:
    document = _fixture(fixture)
    _set(document, keys, "@@GIANT@@")
    data = _encode(document).replace(b'"@@GIANT@@"', b"-" + b"9" * 5000)
    with pytest.raises(InputError) as caught:
        JSON_PARSERS[name](data, PATH)
    assert caught.value.reason == "not valid JSON: a number with 5000 digits is too large"


# --- the 100 MB file --------------------------------------------------------------------------------------------

HUNDRED_MB = 100 * 1024 * 1024
BOUNDED = 1024 * 1024  # a rejected oversize artifact must not cost more than this in new allocations


@pytest.fixture(scope="module")
def hundred_mb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "backend-disruption_20230214-101532.json"
    entry = b'"kube-api-new-connections": {"Name": "kube-api-new-connections", "DisruptedDuration": "2.4s"}, '
    with path.open("wb") as out:
        out.write(b'{"BackendDisruptions": {')
        while out.tell() < HUNDRED_MB - len(entry):
            out.write(entry * 1000)
        out.write(b'"x": {"Name": "x", "DisruptedDuration": "0s"}}}')
    assert path.stat().st_size > HUNDRED_MB - len(entry)
    return path


def _peak_allocation(action: Callable[[], Any]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        action()
    except BaseException as error:  # noqa: BLE001 - returned for the assertion
        caught: BaseException | None = error
    else:
        caught = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return caught, peak


def test_100mb_file_is_refused_without_reading_it(hundred_mb_file: Path) -> None:
    size = hundred_mb_file.stat().st_size

    def read() -> None:
        with hundred_mb_file.open("rb") as stream:
            read_capped(stream, PATH)

    error, peak = _peak_allocation(read)
    assert isinstance(error, InputError)
    assert error.reason == f"file is {size} bytes, over the 64 MiB limit"
    assert peak < BOUNDED


def test_100mb_stream_is_refused_with_memory_bounded_by_the_cap(hundred_mb_file: Path) -> None:
    class Pipe(io.RawIOBase):  # a stream whose length is unknown, like an HTTP body
        def __init__(self, inner: io.BufferedReader) -> None:
            self.inner = inner

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            return self.inner.readinto(buffer)

    def read() -> None:
        with hundred_mb_file.open("rb") as inner:
            read_capped(io.BufferedReader(Pipe(inner)), PATH)  # type: ignore[arg-type]

    error, peak = _peak_allocation(read)
    assert isinstance(error, InputError)
    assert error.reason == f"file is more than {MAX_ARTIFACT_BYTES} bytes, over the 64 MiB limit"
    assert peak < MAX_ARTIFACT_BYTES + 8 * 1024 * 1024  # the cap plus a couple of chunks, not the whole 100 MB


@pytest.mark.parametrize("name", sorted(ALL_PARSERS))
def test_100mb_bytes_are_refused_before_any_decoding(name: str, hundred_mb_file: Path) -> None:
    data = hundred_mb_file.read_bytes()
    error, peak = _peak_allocation(lambda: ALL_PARSERS[name](data, PATH))
    assert isinstance(error, InputError)
    assert error.reason == f"file is {len(data)} bytes, over the 64 MiB limit"
    assert peak < BOUNDED
