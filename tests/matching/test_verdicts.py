"""Run verdicts: origin's allowance arithmetic, backend and alert verdicts, junit rendering."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.matching.matcher import ALERT, BACKEND, HistoricalData, JobType, load_historical
from job_run_aggregator.matching.verdicts import (
    FAIL,
    FLAKE,
    PASS,
    SKIP,
    Verdict,
    allowed_disruption,
    disruption_test_name,
    has_failures,
    judge_alert,
    judge_backend,
    judge_run,
    render_junit,
    round_half_away,
)

from paths import REFERENCE

AWS_UPGRADE = JobType("4.12", "4.11", "aws", "amd64", "ovn", "ha")
AWS_ARM_UPGRADE = JobType("4.12", "4.11", "aws", "arm64", "ovn", "ha")
NO_PLATFORM = JobType("4.12", "4.11", "", "amd64", "ovn", "ha")


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


def history(kind: str, p95: float, p99: float, job_type: JobType = AWS_UPGRADE, runs: int = 500) -> HistoricalData:
    name_field = "AlertName" if kind == ALERT else "BackendName"
    row = {
        name_field: "etcdMembersDown" if kind == ALERT else "kube-api-new-connections",
        "Release": job_type.release,
        "FromRelease": job_type.from_release,
        "Platform": job_type.platform,
        "Architecture": job_type.architecture,
        "Network": job_type.network,
        "Topology": job_type.topology,
        "JobRuns": runs,
        "P95": str(p95),
        "P99": str(p99),
    }
    return load_historical(json.dumps([row]).encode(), "history.json")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(0.0, 0, id="zero"),
        pytest.param(0.5, 1, id="half-up"),
        pytest.param(1.5, 2, id="one-and-half"),
        pytest.param(2.5, 3, id="two-and-half-not-bankers"),
        pytest.param(2.49, 2, id="below-half"),
        pytest.param(-2.5, -3, id="negative-half-away"),
    ],
)
def test_round_half_away(seconds: float, expected: int) -> None:
    assert round_half_away(seconds) == expected


@pytest.mark.parametrize(
    ("p99", "topology", "rules", "final"),
    [
        pytest.param(0.0, "ha", "current", 6, id="current-p99-0"),
        pytest.param(35.917, "ha", "current", 43, id="current-p99-35.917"),
        pytest.param(120.458, "ha", "current", 145, id="current-p99-120.458"),
        pytest.param(0.78, "ha", "current", 6, id="current-floored"),
        pytest.param(3.5, "ha", "current", 9, id="current-plus-5-half-away"),
        pytest.param(33.75, "ha", "current", 41, id="current-times-1.2-half-away"),
        pytest.param(25.0, "ha", "current", 30, id="current-both-graces-equal"),
        pytest.param(0.0, "single", "current", 11, id="current-single-p99-0"),
        pytest.param(35.917, "single", "current", 50, id="current-single-p99-35.917"),
        pytest.param(120.458, "single", "current", 169, id="current-single-p99-120.458"),
        pytest.param(35.917, "ha", "2023", 43, id="2023-same-as-current"),
        pytest.param(0.0, "single", "2023", 11, id="2023-single"),
        pytest.param(0.0, "ha", "2022", 1, id="2022-floored"),
        pytest.param(35.917, "ha", "2022", 36, id="2022-rounded"),
        pytest.param(2.5, "single", "2022", 3, id="2022-half-away-no-topology-grace"),
        pytest.param(120.458, "ha", "2022", 120, id="2022-rounded-down"),
        pytest.param(2.718, "ha", "2022", 2.718, id="2022-default-unrounded"),
    ],
)
def test_allowed_disruption(p99: float, topology: str, rules: str, final: float) -> None:
    assert allowed_disruption(p99, topology, rules).final == final


@pytest.mark.parametrize(
    ("p99", "topology", "rules", "text"),
    [
        pytest.param(0.78, "ha", "current", "P99 0.78s floored at 1s, grace max(+5s, ×1.2)", id="current-floored"),
        pytest.param(35.917, "single", "current", "P99 35.917s, grace max(+10s, ×1.4)", id="current-single"),
        pytest.param(2.718, "ha", "2022", "P99 2.718s, no grace", id="2022"),
    ],
)
def test_allowance_description(p99: float, topology: str, rules: str, text: str) -> None:
    assert allowed_disruption(p99, topology, rules).describe() == text


def test_allowed_disruption_unknown_rules() -> None:
    with pytest.raises(ConfigError, match="--rules 'latest': unknown rule set"):
        allowed_disruption(1.0, "ha", "latest")


# ---- backend verdicts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p99", "observed", "rules", "status"),
    [
        pytest.param(0.0, 6, "current", PASS, id="current-at-limit"),
        pytest.param(0.0, 7, "current", FAIL, id="current-over-limit"),
        pytest.param(0.0, 6.49, "current", PASS, id="current-observed-rounds-down"),
        pytest.param(0.0, 6.5, "current", FAIL, id="current-observed-rounds-up"),
        pytest.param(35.917, 43, "current", PASS, id="current-43"),
        pytest.param(35.917, 44, "current", FAIL, id="current-44"),
        pytest.param(120.458, 145, "2023", PASS, id="2023-145"),
        pytest.param(120.458, 146, "2023", FAIL, id="2023-146"),
        pytest.param(0.0, 1, "2022", PASS, id="2022-at-floor"),
        pytest.param(0.0, 2, "2022", FAIL, id="2022-over-floor"),
        pytest.param(35.917, 36, "2022", PASS, id="2022-at-limit"),
        pytest.param(35.917, 37, "2022", FAIL, id="2022-over-limit"),
    ],
)
def test_backend_verdict_arithmetic(p99: float, observed: float, rules: str, status: str) -> None:
    match = history(BACKEND, 0.0, p99).best_match("kube-api-new-connections", AWS_UPGRADE, rules)
    verdict = judge_backend("kube-api-new-connections", observed, AWS_UPGRADE, match, rules)
    assert verdict.status == status


def test_backend_fail_reason(backends_2022: HistoricalData) -> None:
    match = backends_2022.best_match("kube-api-new-connections", AWS_UPGRADE)
    verdict = judge_backend("kube-api-new-connections", 7, AWS_UPGRADE, match)
    assert (verdict.status, verdict.allowed, verdict.kind) == (FAIL, 6, BACKEND)
    assert verdict.reason == (
        "observed 7s > allowed 6s (P99 1s, grace max(+5s, ×1.2));"
        " matched kube-api-new-connections [4.12 from 4.11 aws amd64 ovn ha], 523 job runs"
    )


def test_backend_fallback_reason_keeps_origin_message(backends_2022: HistoricalData) -> None:
    match = backends_2022.best_match("cache-kube-api-new-connections", AWS_ARM_UPGRADE, "2022")
    verdict = judge_backend("cache-kube-api-new-connections", 0, AWS_ARM_UPGRADE, match, "2022")
    assert verdict.status == PASS
    assert verdict.reason.startswith(
        "observed 0s ≤ allowed 1s (P99 0.78s floored at 1s, no grace);"
        " matched cache-kube-api-new-connections [4.12 from 4.11 aws amd64 ovn ha], 523 job runs"
        ' (no exact match for historicaldata.DataKey{Name:"cache-kube-api-new-connections",'
    )
    assert verdict.reason.endswith(match.message)


@pytest.mark.parametrize(
    ("job_type", "rules", "has_data", "status", "reason"),
    [
        pytest.param(
            NO_PLATFORM,
            "current",
            True,
            SKIP,
            "observed 3s; not judged: the job type has no platform",
            id="no-platform",
        ),
        pytest.param(
            NO_PLATFORM,
            "2022",
            True,
            SKIP,
            "observed 3s; not judged: the job type has no platform",
            id="2022-no-platform",
        ),
        pytest.param(
            AWS_UPGRADE, "current", False, SKIP, "observed 3s; no historical data was given", id="current-no-data"
        ),
        pytest.param(AWS_UPGRADE, "2022", False, FLAKE, "observed 3s; no historical data was given", id="2022-no-data"),
        pytest.param(
            JobType("4.15", "", "aws", "amd64", "ovn", "ha"),
            "current",
            True,
            SKIP,
            "observed 3s; no historical data (no exact or fuzzy match for jobType=platformidentification.JobType"
            '{Release:"4.15", FromRelease:"", Platform:"aws", Architecture:"amd64", Network:"ovn", Topology:"ha"})',
            id="current-no-match",
        ),
        pytest.param(
            JobType("4.15", "", "aws", "amd64", "ovn", "ha"),
            "2022",
            True,
            FAIL,
            "observed 3s > allowed 2.718s (P99 2.718s, no grace); no match, the 2022 default (no exact or fuzzy"
            ' match for jobType=platformidentification.JobType{Release:"4.15", FromRelease:"", Platform:"aws",'
            ' Architecture:"amd64", Network:"ovn", Topology:"ha"})',
            id="2022-no-match-default",
        ),
    ],
)
def test_backend_not_judged(
    backends_2022: HistoricalData, job_type: JobType, rules: str, has_data: bool, status: str, reason: str
) -> None:
    match = backends_2022.best_match("kube-api-new-connections", job_type, rules) if has_data else None
    verdict = judge_backend("kube-api-new-connections", 3, job_type, match, rules)
    assert (verdict.status, verdict.reason) == (status, reason)


# ---- alert verdicts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "status"),
    [
        pytest.param(2.0, PASS, id="below-p95"),
        pytest.param(5.0, PASS, id="at-p95"),
        pytest.param(5.5, FLAKE, id="above-p95"),
        pytest.param(10.0, FLAKE, id="at-p99"),
        pytest.param(10.001, FAIL, id="above-p99"),
    ],
)
def test_alert_verdict(observed: float, status: str) -> None:
    match = history(ALERT, 5.0, 10.0).best_match("etcdMembersDown", AWS_UPGRADE)
    verdict = judge_alert("etcdMembersDown", "openshift-etcd", "Critical", observed, match)
    assert (verdict.status, verdict.kind, verdict.allowed) == (status, ALERT, 10.0)


def test_alert_reason() -> None:
    match = history(ALERT, 5.0, 10.0).best_match("etcdMembersDown", AWS_UPGRADE)
    verdict = judge_alert("etcdMembersDown", "openshift-etcd", "Critical", 12.5, match)
    assert verdict.reason == (
        "observed 12.5s > P99 (P95 5s, P99 10s); matched etcdMembersDown [4.12 from 4.11 aws amd64 ovn ha], 500 job runs"
    )


@pytest.mark.parametrize(
    ("rules", "status", "allowed"),
    [
        pytest.param("current", SKIP, None, id="current-no-match-reported"),
        pytest.param("2023", SKIP, None, id="2023-no-match-reported"),
        pytest.param("2022", FAIL, 3.141, id="2022-default-3.141"),
    ],
)
def test_alert_without_match(rules: str, status: str, allowed: float | None) -> None:
    match = history(ALERT, 5.0, 10.0).best_match(
        "etcdMembersDown", JobType("4.15", "", "gcp", "amd64", "ovn", "ha"), rules
    )
    verdict = judge_alert("etcdMembersDown", "openshift-etcd", "Critical", 4.0, match)
    assert (verdict.status, verdict.allowed) == (status, allowed)
    assert "(no exact or fuzzy match for jobType=" in verdict.reason


def test_alert_without_data() -> None:
    verdict = judge_alert("etcdMembersDown", "openshift-etcd", "Critical", 4.0, None)
    assert (verdict.status, verdict.reason) == (SKIP, "observed 4s; no alert historical data was given")


# ---- whole runs -----------------------------------------------------------------------------------------------

OBSERVED = {"kube-api-new-connections": 7, "cache-kube-api-reused-connections": 0, "new-backend-new-connections": 1}
OBSERVED_ALERTS = {
    ("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning"): 12.0,
    ("etcdMembersDown", "openshift-etcd", "Critical"): 0.0,
}


@pytest.mark.parametrize(
    ("rules", "statuses"),
    [
        pytest.param("current", [SKIP, SKIP, SKIP, SKIP, SKIP], id="current"),
        pytest.param("2023", [PASS, FAIL, SKIP, SKIP, SKIP], id="2023"),
        pytest.param("2022", [PASS, FAIL, PASS, FAIL, PASS], id="2022"),
    ],
)
def test_judge_run_on_reference_data(
    backends_2022: HistoricalData, alerts_2022: HistoricalData, rules: str, statuses: list[str]
) -> None:
    verdicts = judge_run(OBSERVED, OBSERVED_ALERTS, AWS_ARM_UPGRADE, backends_2022, alerts_2022, rules)
    assert [(v.kind, v.name) for v in verdicts] == [
        (BACKEND, "cache-kube-api-reused-connections"),
        (BACKEND, "kube-api-new-connections"),
        (BACKEND, "new-backend-new-connections"),
        (ALERT, "KubeAPIErrorBudgetBurn"),
        (ALERT, "etcdMembersDown"),
    ]
    assert [v.status for v in verdicts] == statuses
    assert has_failures(verdicts) is (FAIL in statuses)


def test_judge_run_on_current_data(backends_2025: HistoricalData) -> None:
    job_type = JobType("4.20", "4.20", "aws", "arm64", "ovn", "ha")
    verdicts = judge_run(
        {"kube-api-new-connections": 6, "kube-api-reused-connections": 7}, None, job_type, backends_2025, None
    )
    assert [(v.name, v.status, v.allowed) for v in verdicts] == [
        ("kube-api-new-connections", PASS, 6),
        ("kube-api-reused-connections", FAIL, 6),
    ]
    assert verdicts[0].match is not None and verdicts[0].match.is_fallback


def test_judge_run_without_alert_data_reports_alerts(backends_2022: HistoricalData) -> None:
    verdicts = judge_run({}, OBSERVED_ALERTS, AWS_UPGRADE, backends_2022, None, "2022")
    assert [(v.name, v.status) for v in verdicts] == [("KubeAPIErrorBudgetBurn", SKIP), ("etcdMembersDown", SKIP)]


# ---- junit ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "test_name"),
    [
        pytest.param(
            "kube-api-new-connections",
            "disruption/kube-api connection/new should be available throughout the test",
            id="new",
        ),
        pytest.param(
            "ingress-to-oauth-server-reused-connections",
            "disruption/ingress-to-oauth-server connection/reused should be available throughout the test",
            id="reused",
        ),
        pytest.param(
            "kube-api-http1-internal-lb-new-connections",
            "disruption/kube-api-http1-internal-lb connection/new should be available throughout the test",
            id="2025-backend",
        ),
        pytest.param(
            "image-registry", "disruption/image-registry should be available throughout the test", id="no-suffix"
        ),
        pytest.param(
            "new-connections", "disruption/new-connections should be available throughout the test", id="only-suffix"
        ),
    ],
)
def test_disruption_test_name(backend: str, test_name: str) -> None:
    assert disruption_test_name(backend) == test_name


def test_every_reference_backend_has_a_connection_type(backends_2025: HistoricalData) -> None:
    names = {key.name for key in backends_2025.rows}
    assert all(" connection/" in disruption_test_name(name) for name in names)


def verdict(name: str, status: str, kind: str = BACKEND, namespace: str = "", level: str = "") -> Verdict:
    return Verdict(name, kind, status, f"why {name} {status}", 1.0, 6.0, None, namespace, level)


def test_render_junit_exact() -> None:
    verdicts = [
        verdict("kube-api-new-connections", PASS),
        verdict("kube-api-reused-connections", FAIL),
        verdict("oauth-api-new-connections", SKIP),
        verdict("etcdMembersDown", FLAKE, ALERT, "openshift-etcd", "Critical"),
    ]
    assert render_junit(verdicts, "check-run").decode() == (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        '<testsuite name="check-run" tests="5" failures="2" skipped="1">\n'
        '  <testcase name="disruption/kube-api connection/new should be available throughout the test" time="0">\n'
        "    <system-out>why kube-api-new-connections pass</system-out>\n"
        "  </testcase>\n"
        '  <testcase name="disruption/kube-api connection/reused should be available throughout the test" time="0">\n'
        '    <failure message="why kube-api-reused-connections fail">why kube-api-reused-connections fail</failure>\n'
        "  </testcase>\n"
        '  <testcase name="disruption/oauth-api connection/new should be available throughout the test" time="0">\n'
        '    <skipped message="why oauth-api-new-connections skip" />\n'
        "    <system-out>why oauth-api-new-connections skip</system-out>\n"
        "  </testcase>\n"
        '  <testcase name="alert/etcdMembersDown should not be at or above critical in ns/openshift-etcd" time="0">\n'
        '    <failure message="why etcdMembersDown flake">why etcdMembersDown flake</failure>\n'
        "  </testcase>\n"
        '  <testcase name="alert/etcdMembersDown should not be at or above critical in ns/openshift-etcd" time="0">\n'
        "    <system-out>why etcdMembersDown flake</system-out>\n"
        "  </testcase>\n"
        "</testsuite>\n"
    )


def test_render_junit_of_a_judged_run_parses(backends_2022: HistoricalData, alerts_2022: HistoricalData) -> None:
    verdicts = judge_run(OBSERVED, OBSERVED_ALERTS, AWS_ARM_UPGRADE, backends_2022, alerts_2022, "2022")
    suite = ET.fromstring(render_junit(verdicts, "openshift-tests"))
    cases = suite.findall("testcase")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "2", "0")
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == [
        "disruption/kube-api connection/new should be available throughout the test",
        "alert/KubeAPIErrorBudgetBurn should not be at or above warning in ns/openshift-kube-apiserver",
    ]
    failure = cases[1].find("failure")
    assert failure is not None and failure.text is not None
    assert failure.text.startswith("observed 7s > allowed 1s (P99 1s, no grace); matched kube-api-new-connections")


def test_verdict_to_json(backends_2022: HistoricalData) -> None:
    match = backends_2022.best_match("kube-api-new-connections", AWS_UPGRADE)
    document = judge_backend("kube-api-new-connections", 7, AWS_UPGRADE, match).to_json()
    assert {k: document[k] for k in ("name", "kind", "status", "observed", "allowed", "test_name")} == {
        "name": "kube-api-new-connections",
        "kind": BACKEND,
        "status": FAIL,
        "observed": 7,
        "allowed": 6,
        "test_name": "disruption/kube-api connection/new should be available throughout the test",
    }
    assert document["match"] == match.to_json()
    assert json.loads(json.dumps(document)) == document
