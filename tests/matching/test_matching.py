"""The best matcher: guessers, presets, thresholds, messages and lookups over the real reference files."""

from __future__ import annotations

import json

import pytest

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.matching.matcher import (
    ALERT,
    BACKEND,
    MICRO,
    MINOR,
    PRESETS,
    PREVIOUS,
    SDN,
    SINGLE,
    DataKey,
    HistoricalData,
    JobType,
    arch,
    combine,
    go_quote,
    job_type_for,
    load_historical,
    preset_for,
    render_key,
)

from paths import REFERENCE


def reference(name: str) -> HistoricalData:
    path = REFERENCE / name
    return load_historical(path.read_bytes(), str(path))


@pytest.fixture(scope="module")
def backends_2022() -> HistoricalData:
    return reference("backend_query_results_2022-12.json")


@pytest.fixture(scope="module")
def alerts_2022() -> HistoricalData:
    return reference("alerts_query_results_2022-12.json")


@pytest.fixture(scope="module")
def backends_2025() -> HistoricalData:
    return reference("backend_query_results_2025-current.json")


def jt(text: str) -> JobType:
    """`4.12/4.11 aws amd64 ovn ha` → JobType; `-` stands for an empty FromRelease."""
    releases, platform, architecture, network, topology = text.split(" ")
    release, from_release = releases.split("/")
    return JobType(release, "" if from_release == "-" else from_release, platform, architecture, network, topology)


# ---- guessers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guesser", "given", "expected"),
    [
        pytest.param(MICRO, "4.12/4.11 aws amd64 ovn ha", "4.12/4.12 aws amd64 ovn ha", id="micro-minor-upgrade"),
        pytest.param(MICRO, "4.12/4.10 aws amd64 ovn ha", "4.12/4.12 aws amd64 ovn ha", id="micro-two-minors"),
        pytest.param(MICRO, "4.12/4.12 aws amd64 ovn ha", None, id="micro-already-micro"),
        pytest.param(MICRO, "4.12/3.12 aws amd64 ovn ha", None, id="micro-compares-minors-only"),
        pytest.param(MICRO, "4.12/- aws amd64 ovn ha", None, id="micro-not-upgrade"),
        pytest.param(MICRO, "4.12/4.x aws amd64 ovn ha", None, id="micro-unparseable-from"),
        pytest.param(MICRO, "main/4.11 aws amd64 ovn ha", None, id="micro-unparseable-release"),
        pytest.param(MINOR, "4.12/4.10 aws amd64 ovn ha", "4.12/4.11 aws amd64 ovn ha", id="minor-two-minors"),
        pytest.param(MINOR, "4.12/4.12 aws amd64 ovn ha", "4.12/4.11 aws amd64 ovn ha", id="minor-from-micro"),
        pytest.param(MINOR, "4.12/4.11 aws amd64 ovn ha", None, id="minor-already-minor"),
        pytest.param(MINOR, "4.12/3.11 aws amd64 ovn ha", None, id="minor-compares-minors-only"),
        pytest.param(MINOR, "4.12/- aws amd64 ovn ha", None, id="minor-not-upgrade"),
        pytest.param(MINOR, "4.0/3.11 aws amd64 ovn ha", None, id="minor-no-minor-below-zero"),
        pytest.param(MINOR, "4/4.11 aws amd64 ovn ha", None, id="minor-release-without-minor"),
        pytest.param(PREVIOUS, "4.12/- aws amd64 ovn ha", "4.11/- aws amd64 ovn ha", id="previous-not-upgrade"),
        pytest.param(PREVIOUS, "4.12/4.11 aws amd64 ovn ha", "4.11/4.10 aws amd64 ovn ha", id="previous-minor"),
        pytest.param(PREVIOUS, "4.12/4.12 aws amd64 ovn ha", "4.11/4.11 aws amd64 ovn ha", id="previous-micro"),
        pytest.param(PREVIOUS, "4.12.3/- aws amd64 ovn ha", "4.11/- aws amd64 ovn ha", id="previous-patch-release"),
        pytest.param(PREVIOUS, "5.0/- aws amd64 ovn ha", None, id="previous-of-x.0"),
        pytest.param(PREVIOUS, "/- aws amd64 ovn ha", None, id="previous-empty-release"),
        pytest.param(PREVIOUS, "4.12/four aws amd64 ovn ha", None, id="previous-unparseable-from"),
        pytest.param(PREVIOUS, "4.-1/- aws amd64 ovn ha", None, id="previous-negative-minor"),
        pytest.param(arch("arm64"), "4.12/- aws amd64 ovn ha", "4.12/- aws arm64 ovn ha", id="arch-set"),
        pytest.param(arch("arm64"), "4.12/- aws arm64 ovn ha", None, id="arch-already"),
        pytest.param(SDN, "4.12/- aws amd64 ovn single", "4.12/- aws amd64 sdn single", id="sdn-set"),
        pytest.param(SDN, "4.12/- aws amd64 sdn single", None, id="sdn-already"),
        pytest.param(SINGLE, "4.12/- aws amd64 ovn single", "4.12/- aws amd64 ovn single", id="single-filter-keeps"),
        pytest.param(SINGLE, "4.12/- aws amd64 ovn ha", None, id="single-filter-rejects"),
        pytest.param(
            combine(PREVIOUS, MICRO), "4.12/4.11 aws amd64 ovn ha", "4.11/4.11 aws amd64 ovn ha", id="combine-chain"
        ),
        pytest.param(combine(PREVIOUS, MICRO), "4.12/- aws amd64 ovn ha", None, id="combine-step-not-applicable"),
        pytest.param(
            combine(SINGLE, SDN, PREVIOUS),
            "4.13/4.12 gcp amd64 ovn single",
            "4.12/4.11 gcp amd64 sdn single",
            id="combine-single-sdn-previous",
        ),
        pytest.param(combine(arch("amd64"), PREVIOUS), "4.12/- aws amd64 ovn ha", None, id="combine-first-step-na"),
    ],
)
def test_guesser(guesser, given: str, expected: str | None) -> None:
    assert guesser(jt(given)) == (jt(expected) if expected else None)


# ---- presets --------------------------------------------------------------------------------------------------

# Every 2022 guesser and what it makes of 4.12 upgrading from 4.10 on s390x, OVN, single node (n/a = None).
ORDER_2022 = [
    ("micro", "4.12/4.12 aws s390x ovn single"),
    ("minor", "4.12/4.11 aws s390x ovn single"),
    ("previous", "4.11/4.9 aws s390x ovn single"),
    ("previous+micro", "4.11/4.11 aws s390x ovn single"),
    ("previous+minor", "4.11/4.10 aws s390x ovn single"),
    ("arch(amd64)", "4.12/4.10 aws amd64 ovn single"),
    ("arch(ppc64le)", "4.12/4.10 aws ppc64le ovn single"),
    ("arch(s390x)", None),
    ("arch(arm64)", "4.12/4.10 aws arm64 ovn single"),
    ("arch(amd64)+micro", "4.12/4.12 aws amd64 ovn single"),
    ("arch(ppc64le)+micro", "4.12/4.12 aws ppc64le ovn single"),
    ("arch(s390x)+micro", None),
    ("arch(arm64)+micro", "4.12/4.12 aws arm64 ovn single"),
    ("arch(amd64)+minor", "4.12/4.11 aws amd64 ovn single"),
    ("arch(ppc64le)+minor", "4.12/4.11 aws ppc64le ovn single"),
    ("arch(s390x)+minor", None),
    ("arch(arm64)+minor", "4.12/4.11 aws arm64 ovn single"),
    ("arch(amd64)+previous", "4.11/4.9 aws amd64 ovn single"),
    ("arch(ppc64le)+previous", "4.11/4.9 aws ppc64le ovn single"),
    ("arch(s390x)+previous", None),
    ("arch(arm64)+previous", "4.11/4.9 aws arm64 ovn single"),
    ("arch(amd64)+previous+micro", "4.11/4.11 aws amd64 ovn single"),
    ("arch(ppc64le)+previous+micro", "4.11/4.11 aws ppc64le ovn single"),
    ("arch(s390x)+previous+micro", None),
    ("arch(arm64)+previous+micro", "4.11/4.11 aws arm64 ovn single"),
    ("arch(amd64)+previous+minor", "4.11/4.10 aws amd64 ovn single"),
    ("arch(ppc64le)+previous+minor", "4.11/4.10 aws ppc64le ovn single"),
    ("arch(s390x)+previous+minor", None),
    ("arch(arm64)+previous+minor", "4.11/4.10 aws arm64 ovn single"),
    ("single+sdn", "4.12/4.10 aws s390x sdn single"),
    ("single+sdn+previous", "4.11/4.9 aws s390x sdn single"),
    ("single+sdn+previous+micro", "4.11/4.11 aws s390x sdn single"),
]
ORDER_2023 = [
    "micro",
    "previous",
    "previous+micro",
    "arch(amd64)",
    "arch(ppc64le)",
    "arch(s390x)",
    "arch(arm64)",
    "arch(amd64)+micro",
    "arch(ppc64le)+micro",
    "arch(s390x)+micro",
    "arch(arm64)+micro",
    "arch(amd64)+previous",
    "arch(ppc64le)+previous",
    "arch(s390x)+previous",
    "arch(arm64)+previous",
    "arch(amd64)+previous+micro",
    "arch(ppc64le)+previous+micro",
    "arch(s390x)+previous+micro",
    "arch(arm64)+previous+micro",
    "single+sdn",
    "single+sdn+previous",
    "single+sdn+previous+micro",
]


def test_2022_order_and_effects() -> None:
    given = jt("4.12/4.10 aws s390x ovn single")
    guessers = PRESETS["2022"].guessers
    assert len(guessers) == 32
    assert [(g.name, g(given)) for g in guessers] == [(n, jt(e) if e else None) for n, e in ORDER_2022]


@pytest.mark.parametrize(
    ("rules", "names"),
    [
        pytest.param("2023", ORDER_2023, id="2023"),
        pytest.param("current", ["previous"], id="current"),
    ],
)
def test_preset_order(rules: str, names: list[str]) -> None:
    assert [g.name for g in preset_for(rules).guessers] == names


def test_2023_guessers_behave_like_their_2022_namesakes() -> None:
    given = jt("4.12/4.10 aws s390x ovn single")
    expected = dict(ORDER_2022)
    assert [(g.name, g(given)) for g in PRESETS["2023"].guessers] == [
        (n, jt(e) if (e := expected[n]) else None) for n in ORDER_2023
    ]


def test_unknown_rules() -> None:
    with pytest.raises(ConfigError) as caught:
        preset_for("2024")
    assert str(caught.value) == "--rules '2024': unknown rule set; choose one of current, 2023, 2022"


# ---- thresholds -----------------------------------------------------------------------------------------------


def synthetic(kind: str, rows: list[tuple[str, int]]) -> HistoricalData:
    """Data with one name per (JobType text, JobRuns) row; P99 = JobRuns / 10 to tell rows apart."""
    name_field = "AlertName" if kind == ALERT else "BackendName"
    items = []
    for text, runs in rows:
        job_type = jt(text)
        items.append(
            {
                name_field: "x",
                "Release": job_type.release,
                "FromRelease": job_type.from_release,
                "Platform": job_type.platform,
                "Architecture": job_type.architecture,
                "Network": job_type.network,
                "Topology": job_type.topology,
                "JobRuns": runs,
                "P95": "0.0",
                "P99": str(runs / 10),
            }
        )
    return load_historical(json.dumps(items).encode(), "synthetic.json")


# (rules, kind) → whether 99, 100, 101 runs are enough, for the exact key and for a fallback key.
THRESHOLDS = {
    ("2022", BACKEND): ((True, True, True), (True, True, True)),
    ("2022", ALERT): ((True, True, True), (True, True, True)),
    ("2023", BACKEND): ((False, False, True), (False, False, True)),
    ("2023", ALERT): ((False, True, True), (False, True, True)),
    ("current", BACKEND): ((False, True, True), (False, False, True)),
    ("current", ALERT): ((False, True, True), (False, True, True)),
}


@pytest.mark.parametrize(
    ("rules", "kind", "runs", "is_exact", "expected"),
    [
        pytest.param(rules, kind, runs, is_exact, found[is_fallback][i], id=f"{rules}-{kind}-{where}-{runs}")
        for (rules, kind), found in THRESHOLDS.items()
        for is_fallback, (is_exact, where) in enumerate(((True, "exact"), (False, "fallback")))
        for i, runs in enumerate((99, 100, 101))
    ],
)
def test_job_run_thresholds(rules: str, kind: str, runs: int, is_exact: bool, expected: bool) -> None:
    wanted = jt("4.13/- aws amd64 ovn ha")
    row = "4.13/- aws amd64 ovn ha" if is_exact else "4.12/- aws amd64 ovn ha"
    match = synthetic(kind, [(row, runs)]).best_match("x", wanted, rules)
    if expected:
        assert (match.found, match.job_runs, match.p99, match.matched_key) == (
            True,
            runs,
            runs / 10,
            DataKey("x", jt(row)),
        )
    else:
        default = None if rules != "2022" else (3.141 if kind == ALERT else 2.718)
        assert (match.found, match.job_runs, match.p99, match.matched_key) == (False, None, default, None)


def test_current_tries_previous_when_exact_is_short() -> None:
    data = synthetic(BACKEND, [("4.13/- aws amd64 ovn ha", 99), ("4.12/- aws amd64 ovn ha", 500)])
    match = data.best_match("x", jt("4.13/- aws amd64 ovn ha"))
    assert (match.found, match.p99, match.job_runs) == (True, 50.0, 500)
    assert [(a.guesser, a.outcome, a.job_runs) for a in match.tried] == [
        ("exact", "too few job runs", 99),
        ("previous", "matched", 500),
    ]


@pytest.mark.parametrize(
    ("min_job_runs", "found"),
    [pytest.param(50, True, id="lower-threshold"), pytest.param(200, False, id="higher-threshold")],
)
def test_min_job_runs_is_settable(min_job_runs: int, found: bool) -> None:
    data = synthetic(BACKEND, [("4.13/- aws amd64 ovn ha", 150)])
    assert data.best_match("x", jt("4.13/- aws amd64 ovn ha"), min_job_runs=min_job_runs).found is found


# ---- messages -------------------------------------------------------------------------------------------------

JOB_TYPE_GO = (
    'platformidentification.JobType{Release:"4.12", FromRelease:"4.11", Platform:"aws", Architecture:"amd64",'
    ' Network:"ovn", Topology:"ha"}'
)


@pytest.mark.parametrize(
    ("key", "kind", "rules", "expected"),
    [
        pytest.param(
            DataKey("kube-api-new-connections", jt("4.12/4.11 aws amd64 ovn ha")),
            BACKEND,
            "2022",
            f'historicaldata.DataKey{{Name:"kube-api-new-connections", JobType:{JOB_TYPE_GO}}}',
            id="2022-Name",
        ),
        pytest.param(
            DataKey("kube-api-new-connections", jt("4.12/4.11 aws amd64 ovn ha")),
            BACKEND,
            "current",
            f'historicaldata.DataKey{{BackendName:"kube-api-new-connections", JobType:{JOB_TYPE_GO}}}',
            id="current-BackendName",
        ),
        pytest.param(
            DataKey("kube-api-new-connections", jt("4.12/4.11 aws amd64 ovn ha")),
            BACKEND,
            "2023",
            f'historicaldata.DataKey{{BackendName:"kube-api-new-connections", JobType:{JOB_TYPE_GO}}}',
            id="2023-BackendName",
        ),
        pytest.param(
            DataKey("etcdMembersDown", jt("4.12/4.11 aws amd64 ovn ha"), "openshift-etcd", "Critical"),
            ALERT,
            "current",
            'historicaldata.AlertDataKey{AlertName:"etcdMembersDown", AlertNamespace:"openshift-etcd",'
            f' AlertLevel:"Critical", JobType:{JOB_TYPE_GO}}}',
            id="alert",
        ),
    ],
)
def test_render_key(key: DataKey, kind: str, rules: str, expected: str) -> None:
    assert render_key(key, kind, rules) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("ha", '"ha"', id="plain"),
        pytest.param('a"b\\c', '"a\\"b\\\\c"', id="quote-backslash"),
        pytest.param("a\nb\tc", '"a\\nb\\tc"', id="control-escapes"),
        pytest.param("\x01\x7f", '"\\x01\\x7f"', id="hex-escapes"),
        pytest.param("é\u200b", '"é\\u200b"', id="unicode"),
        pytest.param("", '""', id="empty"),
    ],
)
def test_go_quote(text: str, expected: str) -> None:
    assert go_quote(text) == expected


def test_fallback_message_from_real_data(backends_2022: HistoricalData) -> None:
    match = backends_2022.best_match("kube-api-new-connections", jt("4.12/4.11 aws arm64 ovn ha"), "2022")
    assert match.message == (
        '(no exact match for historicaldata.DataKey{Name:"kube-api-new-connections",'
        ' JobType:platformidentification.JobType{Release:"4.12", FromRelease:"4.11", Platform:"aws",'
        ' Architecture:"arm64", Network:"ovn", Topology:"ha"}}, fell back to'
        ' historicaldata.DataKey{Name:"kube-api-new-connections",'
        ' JobType:platformidentification.JobType{Release:"4.12", FromRelease:"4.11", Platform:"aws",'
        ' Architecture:"amd64", Network:"ovn", Topology:"ha"}})'
    )


def test_no_match_message(backends_2025: HistoricalData) -> None:
    match = backends_2025.best_match("kube-api-new-connections", jt("4.12/4.11 aws amd64 ovn ha"))
    assert match.message == f"(no exact or fuzzy match for jobType={JOB_TYPE_GO})"


def test_exact_match_has_no_message(backends_2022: HistoricalData) -> None:
    assert backends_2022.best_match("kube-api-new-connections", jt("4.12/4.11 aws amd64 ovn ha")).message == ""


# ---- lookups over the reference files -------------------------------------------------------------------------

LOOKUPS = [
    # file fixture, name, job type, rules, (P95, P99, JobRuns) or None, matched job type, last guesser tried
    (
        "backends_2022",
        "kube-api-new-connections",
        "4.12/4.11 aws amd64 ovn ha",
        "current",
        (1.0, 1.0, 523),
        "4.12/4.11 aws amd64 ovn ha",
        "exact",
    ),
    ("backends_2022", "kube-api-new-connections", "4.12/4.11 aws arm64 ovn ha", "current", None, None, "previous"),
    (
        "backends_2022",
        "kube-api-new-connections",
        "4.12/4.11 aws arm64 ovn ha",
        "2023",
        (1.0, 1.0, 523),
        "4.12/4.11 aws amd64 ovn ha",
        "arch(amd64)",
    ),
    (
        "backends_2022",
        "kube-api-new-connections",
        "4.12/4.10 gcp amd64 ovn ha",
        "2022",
        (4.0, 6.43, 358),
        "4.12/4.11 gcp amd64 ovn ha",
        "minor",
    ),
    (
        "backends_2022",
        "kube-api-new-connections",
        "4.12/4.10 gcp amd64 ovn ha",
        "2023",
        None,
        None,
        "single+sdn+previous+micro",
    ),
    (
        "backends_2022",
        "kube-api-new-connections",
        "4.12/- aws ppc64le ovn ha",
        "2022",
        (2.0, 7.0, 493),
        "4.12/- aws amd64 ovn ha",
        "arch(amd64)",
    ),
    (
        "backends_2022",
        "kube-api-new-connections",
        "4.12/- aws amd64 ovn single",
        "2022",
        (2.718, 2.718, None),
        None,
        "single+sdn+previous+micro",
    ),
    (
        "backends_2022",
        "cache-kube-api-new-connections",
        "4.12/4.11 aws amd64 ovn ha",
        "2022",
        (0.0, 0.78, 523),
        "4.12/4.11 aws amd64 ovn ha",
        "exact",
    ),
    (
        "alerts_2022",
        "KubeAPIErrorBudgetBurn",
        "4.12/4.11 aws amd64 ovn ha",
        "2022",
        (0.0, 11.0, 0),
        "4.12/4.11 aws amd64 ovn ha",
        "exact",
    ),
    ("alerts_2022", "KubeAPIErrorBudgetBurn", "4.12/4.11 aws amd64 ovn ha", "current", None, None, "previous"),
    (
        "alerts_2022",
        "KubeAPIErrorBudgetBurn",
        "4.12/4.10 gcp amd64 ovn ha",
        "2022",
        (3.0, 10.24, 0),
        "4.12/4.11 gcp amd64 ovn ha",
        "minor",
    ),
    (
        "alerts_2022",
        "KubeAPIErrorBudgetBurn",
        "4.12/- nutanix amd64 ovn ha",
        "2022",
        (3.141, 3.141, None),
        None,
        "single+sdn+previous+micro",
    ),
    (
        "backends_2025",
        "kube-api-new-connections",
        "4.20/4.20 aws arm64 ovn ha",
        "current",
        (0.0, 0.0, 102),
        "4.19/4.19 aws arm64 ovn ha",
        "previous",
    ),
    (
        "backends_2025",
        "kube-api-new-connections",
        "4.19/4.18 aws amd64 ovn single",
        "2023",
        (534.5, 601.3, 391),
        "4.19/4.19 aws amd64 ovn single",
        "micro",
    ),
    ("backends_2025", "kube-api-new-connections", "4.19/4.18 aws amd64 ovn single", "current", None, None, "previous"),
    (
        "backends_2025",
        "kube-api-http1-internal-lb-new-connections",
        "4.19/4.19 aws arm64 ovn ha",
        "current",
        None,
        None,
        "previous",
    ),
]


@pytest.mark.parametrize(
    ("data_name", "name", "given", "rules", "numbers", "matched", "last_tried"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}-{case[2].replace(' ', '-')}-{case[3]}") for case in LOOKUPS],
)
def test_lookup_reference(
    request: pytest.FixtureRequest,
    data_name: str,
    name: str,
    given: str,
    rules: str,
    numbers: tuple[float, float, int | None] | None,
    matched: str | None,
    last_tried: str,
) -> None:
    data: HistoricalData = request.getfixturevalue(data_name)
    match = data.best_match(name, jt(given), rules)
    assert (match.p95, match.p99, match.job_runs) == (numbers or (None, None, None))
    assert match.found is (matched is not None)
    assert match.matched_key == (DataKey(name, jt(matched)) if matched else None)
    assert match.tried[-1].guesser == last_tried
    assert match.is_fallback is (matched is not None and matched != given)


def test_match_to_json(backends_2025: HistoricalData) -> None:
    match = backends_2025.best_match("kube-api-new-connections", jt("4.20/4.20 aws arm64 ovn ha"))
    document = match.to_json()
    assert list(document) == ["found", "p95", "p99", "job_runs", "matched_key", "message", "rules"]
    assert document["matched_key"] == {
        "name": "kube-api-new-connections",
        "Release": "4.19",
        "FromRelease": "4.19",
        "Platform": "aws",
        "Architecture": "arm64",
        "Network": "ovn",
        "Topology": "ha",
    }
    assert (document["found"], document["job_runs"], document["rules"]) == (True, 102, "current")
    assert json.loads(json.dumps(document)) == document


def test_match_all_covers_every_name(backends_2022: HistoricalData) -> None:
    matches = backends_2022.match_all(jt("4.12/4.11 aws amd64 ovn ha"))
    names = sorted({key.name for key in backends_2022.rows})
    assert [m.requested_key.name for m in matches] == names
    assert all(m.found for m in matches)


def test_job_type_for_real_job_name(backends_2022: HistoricalData) -> None:
    name = "periodic-ci-openshift-release-master-ci-4.12-upgrade-from-stable-4.11-e2e-aws-ovn-upgrade"
    assert name in (REFERENCE / "job_names_2023-02.txt").read_text().split()
    job_type = job_type_for(name)
    assert job_type == jt("4.12/4.11 aws amd64 ovn ha")
    assert backends_2022.best_match("kube-api-new-connections", job_type).p99 == 1.0


# ---- reading --------------------------------------------------------------------------------------------------

ROW = {
    "BackendName": "kube-api-new-connections",
    "Release": "4.13",
    "FromRelease": "",
    "Platform": "aws",
    "Architecture": "amd64",
    "Network": "ovn",
    "Topology": "ha",
    "JobRuns": 120,
    "P95": "1.5",
    "P99": "2.5",
}
KEY = DataKey("kube-api-new-connections", jt("4.13/- aws amd64 ovn ha"))


def rows_of(*items: dict[str, object]) -> bytes:
    return json.dumps(list(items)).encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(rows_of(ROW), (1.5, 2.5, 120), id="strings"),
        pytest.param(rows_of({**ROW, "P95": 1.5, "P99": 3}), (1.5, 3.0, 120), id="numbers"),
        pytest.param(rows_of({**ROW, "P99": None}), (1.5, 0.0, 120), id="null-percentile"),
        pytest.param(rows_of({**ROW, "P99": "0.77999999999999536"}), (1.5, 0.78, 120), id="ms-rounding"),
        pytest.param(rows_of({**ROW, "P99": 35.9174}), (1.5, 35.917, 120), id="ms-rounding-number"),
        pytest.param(
            rows_of({**ROW, "P50": "0.1", "Comment": "x", "MasterNodesUpdated": "Y"}),
            (1.5, 2.5, 120),
            id="unknown-keys",
        ),
        pytest.param(rows_of(ROW, {**ROW, "P99": "9.0", "JobRuns": 7}), (1.5, 9.0, 7), id="duplicate-last-wins"),
        pytest.param(
            rows_of({**ROW, "MasterNodesUpdated": "N"}, {**ROW, "MasterNodesUpdated": "Y", "P99": "4.0"}),
            (1.5, 4.0, 120),
            id="master-nodes-updated-not-in-key",
        ),
        pytest.param(
            rows_of({("Name" if k == "BackendName" else k): v for k, v in ROW.items()}), (1.5, 2.5, 120), id="Name-key"
        ),
    ],
)
def test_load_formats(data: bytes, expected: tuple[float, float, int]) -> None:
    loaded = load_historical(data, "q.json")
    assert loaded.kind == BACKEND
    row = loaded.rows[KEY]
    assert (row.p95, row.p99, row.job_runs) == expected
    assert len(loaded.rows) == 1


def test_load_keeps_extra_percentiles_and_master_nodes_updated() -> None:
    loaded = load_historical(rows_of({**ROW, "P50": "0.25", "P75": 0.5, "MasterNodesUpdated": "Y"}), "q.json")
    row = loaded.rows[KEY]
    assert (row.p50, row.p75, row.master_nodes_updated) == (0.25, 0.5, "Y")


ALERT_ROW = {
    "AlertName": "etcdMembersDown",
    "Release": "4.13",
    "FromRelease": "",
    "Platform": "aws",
    "Architecture": "amd64",
    "Network": "ovn",
    "Topology": "ha",
    "JobRuns": 150,
    "P95": "1.0",
    "P99": "6.0",
}


@pytest.mark.parametrize(
    ("rows", "namespace", "level", "p99"),
    [
        pytest.param([ALERT_ROW], "openshift-etcd", "Critical", 6.0, id="unscoped-data-ignores-namespace"),
        pytest.param([ALERT_ROW], None, None, 6.0, id="unscoped-data-no-namespace"),
        pytest.param(
            [
                {**ALERT_ROW, "AlertNamespace": "openshift-etcd", "AlertLevel": "Critical"},
                {**ALERT_ROW, "AlertNamespace": "openshift-etcd", "AlertLevel": "Warning", "P99": "60.0"},
            ],
            "openshift-etcd",
            "Warning",
            60.0,
            id="scoped-data-uses-level",
        ),
        pytest.param(
            [{**ALERT_ROW, "AlertNamespace": "openshift-etcd", "AlertLevel": "Critical"}],
            "other",
            "Critical",
            None,
            id="scoped-data-other-namespace",
        ),
    ],
)
def test_alert_scope(
    rows: list[dict[str, object]], namespace: str | None, level: str | None, p99: float | None
) -> None:
    data = load_historical(rows_of(*rows), "alerts.json")
    assert data.kind == ALERT
    match = data.best_match("etcdMembersDown", jt("4.13/- aws amd64 ovn ha"), namespace=namespace, level=level)
    assert match.p99 == p99


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        pytest.param(
            b"[{",
            None,
            "q.json: not valid JSON (Expecting property name enclosed in double quotes at line 1 column 3)",
            id="bad-json",
        ),
        pytest.param(
            b"\xff",
            None,
            "q.json: not UTF-8 (invalid start byte at byte 0)",
            id="not-utf8",
        ),
        pytest.param(b"{}", None, "q.json: expected a JSON array of rows, found an object", id="object"),
        pytest.param(b"[1]", None, "q.json: row 0: expected an object, found a number", id="row-not-object"),
        pytest.param(
            rows_of(ROW, {"Release": "4.13"}),
            None,
            "q.json: row 1: row has none of the name columns BackendName, AlertName, Name",
            id="no-name",
        ),
        pytest.param(rows_of({**ROW, "BackendName": ""}), None, "q.json: row 0: BackendName is empty", id="empty-name"),
        pytest.param(
            rows_of({**ROW, "P99": "fast"}),
            None,
            "q.json: row 0: P99: percentile 'fast' is not a number",
            id="bad-p99",
        ),
        pytest.param(
            rows_of({**ROW, "P95": "NaN"}),
            None,
            "q.json: row 0: P95: percentile 'NaN' is not a finite number",
            id="nan",
        ),
        pytest.param(
            rows_of({k: v for k, v in ROW.items() if k != "P99"}), None, "q.json: row 0: missing column P99", id="no-p99"
        ),
        pytest.param(
            rows_of({**ROW, "JobRuns": "many"}),
            None,
            "q.json: row 0: JobRuns is 'many', expected an integer",
            id="bad-jobruns",
        ),
        # One parser for every reader, with Go's json.Unmarshal rule for origin's `JobRuns int64`: a JSON string,
        # a fraction or a null is refused (the matcher's own parser used to accept these), a missing one too.
        pytest.param(
            rows_of({**ROW, "JobRuns": "123"}), None, "q.json: row 0: JobRuns is '123', expected an integer",
            id="string-jobruns",
        ),
        pytest.param(
            rows_of({**ROW, "JobRuns": 7.0}), None, "q.json: row 0: JobRuns is 7.0, expected an integer",
            id="fraction-jobruns",
        ),
        pytest.param(
            rows_of({**ROW, "JobRuns": None}), None, "q.json: row 0: JobRuns is None, expected an integer",
            id="null-jobruns",
        ),
        pytest.param(
            rows_of({k: v for k, v in ROW.items() if k != "JobRuns"}), None, "q.json: row 0: missing column JobRuns",
            id="no-jobruns",
        ),
        pytest.param(
            rows_of({**ROW, "Release": 4.13}),
            None,
            "q.json: row 0: Release is a number, expected a string",
            id="number-release",
        ),
        pytest.param(
            rows_of(ROW, ALERT_ROW), None, "q.json: rows mix the name columns AlertName, BackendName", id="mixed-kinds"
        ),
        pytest.param(
            rows_of(ALERT_ROW),
            BACKEND,
            "q.json: holds alert rows, expected backend rows (is it the other data file?)",
            id="wrong-kind",
        ),
    ],
)
def test_load_errors(data: bytes, kind: str | None, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_historical(data, "q.json", kind=kind)
    assert str(caught.value) == message
    assert caught.value.path == "q.json"


def test_empty_file_takes_the_expected_kind() -> None:
    assert load_historical(b"[]", "q.json", kind=ALERT).kind == ALERT
    assert load_historical(b"[]", "q.json").rows == {}


@pytest.mark.parametrize(
    ("name", "kind", "rows", "names"),
    [
        pytest.param("backend_query_results_2022-12.json", BACKEND, 340, 20, id="backends-2022"),
        pytest.param("alerts_query_results_2022-12.json", ALERT, 795, 15, id="alerts-2022"),
        pytest.param("backend_query_results_2025-current.json", BACKEND, 6550, 60, id="backends-2025"),
    ],
)
def test_reference_files_load_whole(name: str, kind: str, rows: int, names: int) -> None:
    data = reference(name)
    assert (data.kind, len(data.rows), len({k.name for k in data.rows})) == (kind, rows, names)


# ---- the memoised walk agrees with the step-by-step replay (issue 16) -------------------------------------------


@pytest.mark.parametrize("rules", ["current", "2023", "2022"])
def test_fast_walk_agrees_with_its_replay(backends_2025: HistoricalData, rules: str) -> None:
    """The answer comes from the memoised chain, `tried` from replaying every guesser: both must tell one story."""
    keys = list(backends_2025.rows)[::37]
    later = [JobType(f"4.{int(k.job_type.release.split('.')[1]) + 1}", "", *k.job_type.values()[2:]) for k in keys]
    lookups = [(k.name, k.job_type) for k in keys] + [(k.name, j) for k, j in zip(keys, later, strict=True)]
    found = fallback = 0
    for name, job_type in lookups:
        match = backends_2025.best_match(name, job_type, rules)
        tried = match.tried
        matched = [a for a in tried if a.outcome == "matched"]
        assert tried[0].guesser == "exact" and tried[0].key == match.requested_key
        if match.found:
            assert matched == [tried[-1]] and tried[-1].key == match.matched_key
            assert tried[-1].job_runs == match.job_runs
            found += 1
            fallback += match.is_fallback
        else:
            assert matched == [] and len(tried) == 1 + len(preset_for(rules).guessers)
    assert found and fallback  # the sample exercises both paths


def test_preset_registry_is_extensible(backends_2025: HistoricalData) -> None:
    from job_run_aggregator.matching.presets import PRESET_FAMILIES, Preset, register_preset_family

    def exact_only(argument: str) -> Preset:
        if not argument.isdigit():
            raise ConfigError(f"--rules exact-only:{argument}: expected a number of job runs")
        return Preset(f"exact-only:{argument}", (), True, False, False, None, None)

    register_preset_family("exact-only", exact_only)
    try:
        key = next(k for k, r in backends_2025.rows.items() if r.job_runs > 150)
        assert backends_2025.best_match(key.name, key.job_type, "exact-only:1").found
        assert preset_for("exact-only:1") is preset_for("exact-only:1")
        with pytest.raises(ConfigError, match="expected a number"):
            preset_for("exact-only:x")
        with pytest.raises(ConfigError, match=r"choose one of current, 2023, 2022, exact-only:ARG"):
            preset_for("nope")
    finally:
        PRESET_FAMILIES.pop("exact-only")
