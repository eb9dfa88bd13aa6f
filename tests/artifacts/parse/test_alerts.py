"""alerts files (DESIGN §3.2): parsing, sum across files then ceil once, zero injection, malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import AlertDuration
from job_run_aggregator.artifacts.parse.alerts import (
    AlertKey,
    combine_alerts,
    inject_zero_alerts,
    is_alerts_path,
    parse_alerts_file,
)

FIXTURES = Path(__file__).parent / "fixtures"
UPGRADE_PHASE = "alerts_20230214-101532.json"
E2E_PHASE = "alerts_20230214-113905.json"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_parse_alerts_file_keeps_file_order_and_exact_nanoseconds() -> None:
    alerts = parse_alerts_file(read(UPGRADE_PHASE), UPGRADE_PHASE)
    assert alerts == [
        AlertDuration("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning", 2.4, 2_400_000_000),
        AlertDuration("etcdMembersDown", "openshift-etcd", "Critical", 62.5, 62_500_000_000),
        AlertDuration("etcdHighNumberOfLeaderChanges", "openshift-etcd", "Warning", 270.0, 270_000_000_000),
        AlertDuration("KubeClientErrors", "openshift-kube-controller-manager", "Warning", 0.75, 750_000_000),
        AlertDuration("MCDDrainError", "openshift-machine-config-operator", "Warning", 0.1, 100_000_000),
        AlertDuration("MCDDrainError", "openshift-machine-config-operator", "Warning", 2.7, 2_700_000_000),
        AlertDuration("VSphereOpenshiftNodeHealthFail", "", "Info", 1e-07, 100),
    ]


def test_two_phase_run_sums_first_then_ceils_once() -> None:
    files = [parse_alerts_file(read(name), name) for name in (UPGRADE_PHASE, E2E_PHASE)]
    assert combine_alerts(files) == {
        # 2.4s + 1.3s = 3.7s → 4; ceil per file would give 3 + 2 = 5
        AlertKey("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning"): 4,
        # same name, other level: its own key
        AlertKey("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Critical"): 30,
        # 62.5s + 2.5s = 65s exactly → 65; ceil per file would give 63 + 3 = 66
        AlertKey("etcdMembersDown", "openshift-etcd", "Critical"): 65,
        AlertKey("etcdHighNumberOfLeaderChanges", "openshift-etcd", "Warning"): 270,
        # same name, other namespace: two keys
        AlertKey("KubeClientErrors", "openshift-kube-controller-manager", "Warning"): 1,
        AlertKey("KubeClientErrors", "openshift-monitoring", "Warning"): 1,
        # 100ms + 2.7s in one file, 200ms in the other = 3s exactly → 3 (summing floats gives 3.0000000000000004 → 4)
        AlertKey("MCDDrainError", "openshift-machine-config-operator", "Warning"): 3,
        AlertKey("VSphereOpenshiftNodeHealthFail", "", "Info"): 1,
        AlertKey("PrometheusOperatorWatchErrors", "openshift-monitoring", "Warning"): 0,
    }
    assert 0.1 + 2.7 + 0.2 > 3.0  # the float trap the nanosecond sum avoids


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param([], {}, id="no-files"),
        pytest.param([[]], {}, id="empty-file"),
        pytest.param(
            [[AlertDuration("etcdNoLeader", "openshift-etcd", "Critical", 0.1, 100_000_000)]] * 10,
            {AlertKey("etcdNoLeader", "openshift-etcd", "Critical"): 1},
            id="ten-tenths-are-one",
        ),
        pytest.param(
            [[AlertDuration("etcdNoLeader", "openshift-etcd", "Critical", 0.5)] * 3],
            {AlertKey("etcdNoLeader", "openshift-etcd", "Critical"): 2},
            id="records-without-nanoseconds",
        ),
        pytest.param(
            [[AlertDuration("etcdGRPCRequestsSlow", "openshift-etcd", "Warning", 1e-9, 1)]],
            {AlertKey("etcdGRPCRequestsSlow", "openshift-etcd", "Warning"): 1},
            id="one-nanosecond-is-one-second",
        ),
    ],
)
def test_combine_alerts(files: list[list[AlertDuration]], expected: dict[AlertKey, int]) -> None:
    assert combine_alerts(files) == expected


KNOWN_4_13 = [
    ("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning"),
    ("etcdMembersDown", "openshift-etcd", "Critical"),
    ("etcdNoLeader", "openshift-etcd", "Critical"),
    ("KubePersistentVolumeErrors", "openshift-monitoring", "Critical"),
]


@pytest.mark.parametrize(
    ("run_alerts", "had_alert_files", "expected"),
    [
        pytest.param(
            {AlertKey("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning"): 4},
            True,
            {
                AlertKey("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning"): 4,
                AlertKey("etcdMembersDown", "openshift-etcd", "Critical"): 0,
                AlertKey("etcdNoLeader", "openshift-etcd", "Critical"): 0,
                AlertKey("KubePersistentVolumeErrors", "openshift-monitoring", "Critical"): 0,
            },
            id="unreported-known-alerts-get-zero",
        ),
        pytest.param(
            {},
            True,
            {AlertKey(*key): 0 for key in KNOWN_4_13},
            id="alert-file-with-no-alerts",
        ),
        pytest.param({}, False, {}, id="no-alert-file-no-injection"),
        pytest.param(
            {AlertKey("etcdNoLeader", "openshift-etcd", "Warning"): 7},
            True,
            {
                AlertKey("etcdNoLeader", "openshift-etcd", "Warning"): 7,
                AlertKey("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning"): 0,
                AlertKey("etcdMembersDown", "openshift-etcd", "Critical"): 0,
                AlertKey("etcdNoLeader", "openshift-etcd", "Critical"): 0,
                AlertKey("KubePersistentVolumeErrors", "openshift-monitoring", "Critical"): 0,
            },
            id="level-is-part-of-the-key",
        ),
        pytest.param(
            {AlertKey("etcdMembersDown", "openshift-etcd", "Critical"): 65},
            False,
            {AlertKey("etcdMembersDown", "openshift-etcd", "Critical"): 65},
            id="flag-off-returns-run-alerts-unchanged",
        ),
    ],
)
def test_inject_zero_alerts(
    run_alerts: dict[AlertKey, int], had_alert_files: bool, expected: dict[AlertKey, int]
) -> None:
    assert inject_zero_alerts(run_alerts, KNOWN_4_13, had_alert_files=had_alert_files) == expected


def test_inject_zero_alerts_never_overwrites_reported_values() -> None:
    run = {AlertKey("etcdMembersDown", "openshift-etcd", "Critical"): 65}
    result = inject_zero_alerts(run, KNOWN_4_13 + KNOWN_4_13, had_alert_files=True)
    assert result[AlertKey("etcdMembersDown", "openshift-etcd", "Critical")] == 65
    assert run == {AlertKey("etcdMembersDown", "openshift-etcd", "Critical"): 65}  # input untouched


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param({"Alerts": []}, [], id="no-alerts"),
        pytest.param({"Alerts": None}, [], id="null-alerts-like-go"),
        pytest.param(
            {"Alerts": [{"Name": "etcdNoLeader", "Level": "Critical", "Duration": "5s"}]},
            [AlertDuration("etcdNoLeader", "", "Critical", 5.0, 5_000_000_000)],
            id="namespace-absent",
        ),
        pytest.param(
            {"Alerts": [{"Name": "etcdNoLeader", "Namespace": None, "Level": "Critical", "Duration": "5s"}]},
            [AlertDuration("etcdNoLeader", "", "Critical", 5.0, 5_000_000_000)],
            id="namespace-null",
        ),
        pytest.param(
            {"Alerts": [{"Name": "Watchdog", "Namespace": "openshift-monitoring", "Level": "None", "Duration": "1h"}]},
            [AlertDuration("Watchdog", "openshift-monitoring", "None", 3600.0, 3_600_000_000_000)],
            id="future-level-kept",
        ),
    ],
)
def test_edge_documents(document: object, expected: list[AlertDuration]) -> None:
    assert parse_alerts_file(json.dumps(document).encode(), "alerts_x.json") == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"{}", "Alerts is missing; not an alerts file", id="missing-root"),
        pytest.param(b'{"Alerts": {}}', "Alerts is an object, expected a list", id="alerts-object"),
        pytest.param(b'{"Alerts": [3]}', "Alerts[0] is a number (3), expected an object", id="entry-number"),
        pytest.param(
            b'{"Alerts": [{"Namespace": "openshift-etcd", "Level": "Critical", "Duration": "1s"}]}',
            "Alerts[0].Name is missing",
            id="name-missing",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": ["etcdNoLeader"], "Level": "Critical", "Duration": "1s"}]}',
            "Alerts[0].Name is a list, expected a string",
            id="name-list",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "etcdNoLeader", "Duration": "1s"}]}',
            "Alerts[0].Level is missing",
            id="level-missing",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "etcdNoLeader", "Level": true, "Duration": "1s"}]}',
            "Alerts[0].Level is a boolean, expected a string",
            id="level-boolean",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "a", "Level": "Info", "Duration": "1s"}, {"Name": "etcdNoLeader", "Namespace": 5, "Level": "Critical", "Duration": "1s"}]}',
            "Alerts[1].Namespace is a number (5), expected a string",
            id="namespace-number",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "etcdNoLeader", "Level": "Critical"}]}',
            "Alerts[0].Duration is missing",
            id="duration-missing",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "etcdNoLeader", "Level": "Critical", "Duration": 1000000000}]}',
            'Alerts[0].Duration is a number (1000000000), expected a Go duration string such as "4m30s"',
            id="duration-nanoseconds-number",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "etcdNoLeader", "Level": "Critical", "Duration": "-4m30s"}]}',
            'Alerts[0].Duration: Go duration "-4m30s" is negative',
            id="duration-negative",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "etcdNoLeader", "Level": "Critical", "Duration": "9223372036854775808ns"}]}',
            'Alerts[0].Duration: Go duration "9223372036854775808ns" is out of range (more than int64 nanoseconds, about 292 years)',
            id="duration-overflow",
        ),
        pytest.param(
            b'{"Alerts": [{"Name": "etcdNoLeader", "Level": "Critical", "Duration": "1s", "Value": '
            + b"9" * 100
            + b"}]}",
            "not valid JSON: a number with 100 digits is too large",
            id="giant-integer",
        ),
    ],
)
def test_malformed_files_name_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_alerts_file(data, "alerts_20230214-101532.json")
    assert caught.value.reason == reason
    assert str(caught.value) == f"alerts_20230214-101532.json: {reason}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(
            "artifacts/e2e-aws-ovn/openshift-e2e-test/artifacts/junit/alerts_20230214-101532.json", True, id="typical"
        ),
        pytest.param("alerts_20230214-101532.json", True, id="run-root"),
        pytest.param("artifacts/junit/alerts_20230214-101532.xml", False, id="not-json"),
        pytest.param("artifacts/alerts/prometheus.json", False, id="directory-name-only"),
        pytest.param("artifacts/junit/backend-disruption_20230214-101532.json", False, id="disruption"),
    ],
)
def test_is_alerts_path(path: str, expected: bool) -> None:
    assert is_alerts_path(path) is expected
