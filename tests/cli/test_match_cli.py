"""match through the CLI over the real reference files: the --json object of issue 6, the table, flag errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from job_run_aggregator.cli import app

BACKENDS_2022 = "backend_query_results_2022-12.json"
ALERTS_2022 = "alerts_query_results_2022-12.json"
BACKENDS_2025 = "backend_query_results_2025-current.json"
UPGRADE_4_12 = "periodic-ci-openshift-release-master-ci-4.12-upgrade-from-stable-4.11-e2e-aws-ovn-upgrade"


def run(*args: str):
    # Wide enough that the table form shows whole backend names.
    return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def flags(variant: str) -> list[str]:
    """`"4.12/4.11 aws arm64 ovn ha"` (`-`: no FromRelease) as the JobType flags."""
    releases, platform, architecture, network, topology = variant.split()
    release, from_release = releases.split("/")
    given = ["--release", release, "--platform", platform, "--architecture", architecture, "--network", network,
             "--topology", topology]
    return given + (["--from-release", from_release] if from_release != "-" else [])


def job_type_go(variant: str) -> str:
    releases, platform, architecture, network, topology = variant.split()
    release, from_release = releases.split("/")
    from_release = "" if from_release == "-" else from_release
    return (f'platformidentification.JobType{{Release:"{release}", FromRelease:"{from_release}", '
            f'Platform:"{platform}", Architecture:"{architecture}", Network:"{network}", Topology:"{topology}"}}')


def key(name: str, variant: str) -> dict[str, str]:
    releases, platform, architecture, network, topology = variant.split()
    release, from_release = releases.split("/")
    return {"name": name, "Release": release, "FromRelease": "" if from_release == "-" else from_release,
            "Platform": platform, "Architecture": architecture, "Network": network, "Topology": topology}


KUBE = "kube-api-new-connections"
CASES = [
    pytest.param(
        BACKENDS_2022, ["--backend", KUBE], "4.12/4.11 aws amd64 ovn ha", "current",
        {"found": True, "p95": 1.0, "p99": 1.0, "job_runs": 523, "matched_key": key(KUBE, "4.12/4.11 aws amd64 ovn ha"),
         "message": "", "rules": "current"},
        id="exact-current",
    ),
    pytest.param(
        BACKENDS_2022, ["--backend", KUBE], "4.12/4.11 aws arm64 ovn ha", "2022",
        {"found": True, "p95": 1.0, "p99": 1.0, "job_runs": 523, "matched_key": key(KUBE, "4.12/4.11 aws amd64 ovn ha"),
         "message": f'(no exact match for historicaldata.DataKey{{Name:"{KUBE}", '
                    f'JobType:{job_type_go("4.12/4.11 aws arm64 ovn ha")}}}, fell back to '
                    f'historicaldata.DataKey{{Name:"{KUBE}", JobType:{job_type_go("4.12/4.11 aws amd64 ovn ha")}}})',
         "rules": "2022"},
        id="fallback-arch-2022",
    ),
    pytest.param(
        BACKENDS_2022, ["--backend", KUBE], "4.12/4.11 aws arm64 ovn ha", "2023",
        {"found": True, "p95": 1.0, "p99": 1.0, "job_runs": 523, "matched_key": key(KUBE, "4.12/4.11 aws amd64 ovn ha"),
         "message": f'(no exact match for historicaldata.DataKey{{BackendName:"{KUBE}", '
                    f'JobType:{job_type_go("4.12/4.11 aws arm64 ovn ha")}}}, fell back to '
                    f'historicaldata.DataKey{{BackendName:"{KUBE}", '
                    f'JobType:{job_type_go("4.12/4.11 aws amd64 ovn ha")}}})',
         "rules": "2023"},
        id="fallback-arch-2023",
    ),
    pytest.param(
        BACKENDS_2022, ["--backend", KUBE], "4.12/4.11 aws arm64 ovn ha", "current",
        {"found": False, "p95": None, "p99": None, "job_runs": None, "matched_key": None,
         "message": f"(no exact or fuzzy match for jobType={job_type_go('4.12/4.11 aws arm64 ovn ha')})",
         "rules": "current"},
        id="no-match-current",
    ),
    pytest.param(
        BACKENDS_2022, ["--backend", KUBE], "4.12/- aws amd64 ovn single", "2022",
        {"found": False, "p95": 2.718, "p99": 2.718, "job_runs": None, "matched_key": None,
         "message": f"(no exact or fuzzy match for jobType={job_type_go('4.12/- aws amd64 ovn single')})",
         "rules": "2022"},
        id="no-match-2022-default",
    ),
    pytest.param(
        BACKENDS_2025, ["--backend", KUBE], "4.20/4.20 aws arm64 ovn ha", "current",
        {"found": True, "p95": 0.0, "p99": 0.0, "job_runs": 102, "matched_key": key(KUBE, "4.19/4.19 aws arm64 ovn ha"),
         "message": f'(no exact match for historicaldata.DataKey{{BackendName:"{KUBE}", '
                    f'JobType:{job_type_go("4.20/4.20 aws arm64 ovn ha")}}}, fell back to '
                    f'historicaldata.DataKey{{BackendName:"{KUBE}", '
                    f'JobType:{job_type_go("4.19/4.19 aws arm64 ovn ha")}}})',
         "rules": "current"},
        id="fallback-previous-current-2025",
    ),
    pytest.param(
        ALERTS_2022, ["--alert", "KubeAPIErrorBudgetBurn"], "4.12/4.10 gcp amd64 ovn ha", "2022",
        {"found": True, "p95": 3.0, "p99": 10.24, "job_runs": 0,
         "matched_key": key("KubeAPIErrorBudgetBurn", "4.12/4.11 gcp amd64 ovn ha"),
         "message": '(no exact match for historicaldata.AlertDataKey{AlertName:"KubeAPIErrorBudgetBurn", '
                    f'AlertNamespace:"", AlertLevel:"", JobType:{job_type_go("4.12/4.10 gcp amd64 ovn ha")}}}, '
                    'fell back to historicaldata.AlertDataKey{AlertName:"KubeAPIErrorBudgetBurn", AlertNamespace:"", '
                    f'AlertLevel:"", JobType:{job_type_go("4.12/4.11 gcp amd64 ovn ha")}}})',
         "rules": "2022"},
        id="alert-fallback-minor-2022",
    ),
    pytest.param(
        ALERTS_2022, ["--alert", "KubeAPIErrorBudgetBurn"], "4.12/- nutanix amd64 ovn ha", "2022",
        {"found": False, "p95": 3.141, "p99": 3.141, "job_runs": None, "matched_key": None,
         "message": f"(no exact or fuzzy match for jobType={job_type_go('4.12/- nutanix amd64 ovn ha')})",
         "rules": "2022"},
        id="alert-no-match-2022-default",
    ),
]


@pytest.mark.parametrize(("data", "name", "variant", "rules", "expected"), CASES)
def test_json_is_exactly_the_issue_object(reference, data: str, name: list[str], variant: str, rules: str,
                                          expected: dict) -> None:
    result = run("match", "--data", str(reference / data), *flags(variant), *name, "--rules", rules, "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1  # one object on one line
    document = json.loads(result.stdout)
    assert document == expected
    assert list(document) == ["found", "p95", "p99", "job_runs", "matched_key", "message", "rules"]


def test_rules_default_to_current(reference) -> None:
    result = run("match", "--data", str(reference / BACKENDS_2022), *flags("4.12/4.11 aws arm64 ovn ha"),
                 "--backend", KUBE, "--json")
    assert json.loads(result.stdout)["rules"] == "current"
    assert json.loads(result.stdout)["found"] is False


def test_job_name_gives_the_same_answer_as_the_flags(reference) -> None:
    data = str(reference / BACKENDS_2022)
    by_name = run("match", "--data", data, "--job-name", UPGRADE_4_12, "--backend", KUBE, "--json")
    by_flags = run("match", "--data", data, *flags("4.12/4.11 aws amd64 ovn ha"), "--backend", KUBE, "--json")
    assert by_name.exit_code == by_flags.exit_code == 0
    assert by_name.stdout == by_flags.stdout
    assert json.loads(by_name.stdout)["matched_key"] == key(KUBE, "4.12/4.11 aws amd64 ovn ha")


def test_min_job_runs_option(reference) -> None:
    # The exact row has 523 runs: a threshold above it sends the current rules to the previous release (absent).
    data = str(reference / BACKENDS_2022)
    args = ["match", "--data", data, *flags("4.12/4.11 aws amd64 ovn ha"), "--backend", KUBE, "--json"]
    assert json.loads(run(*args, "--min-job-runs", "523").stdout)["found"] is True
    assert json.loads(run(*args, "--min-job-runs", "524").stdout)["found"] is False


def test_human_form_names_the_matched_key_and_message(reference) -> None:
    result = run("match", "--data", str(reference / BACKENDS_2022), *flags("4.12/4.11 aws arm64 ovn ha"),
                 "--backend", KUBE, "--rules", "2022")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"{KUBE}: P95 1s P99 1s from 523 runs of [4.12 from 4.11 aws amd64 ovn ha] (2022 rules)"
    assert lines[1].startswith(f'(no exact match for historicaldata.DataKey{{Name:"{KUBE}"')


def test_table_lists_every_backend_of_the_file(reference) -> None:
    data = reference / BACKENDS_2022
    names = sorted({row["BackendName"] for row in json.loads(data.read_bytes())})
    result = run("match", "--data", str(data), *flags("4.12/4.11 aws arm64 ovn ha"), "--rules", "2022")
    assert result.exit_code == 0, result.output
    assert "4.12 from 4.11 aws arm64 ovn ha (2022)" in result.stdout
    cells = [line.split("│") for line in result.stdout.splitlines() if line.startswith("│")]
    rows = {c[1].strip(): "│".join(c) for c in cells if c[1].strip()}  # long messages wrap onto extra lines
    assert sorted(rows) == names
    assert "yes" in rows[KUBE] and "4.12 from 4.11 aws amd64 ovn ha" in rows[KUBE]

    as_json = json.loads(run("match", "--data", str(data), *flags("4.12/4.11 aws arm64 ovn ha"), "--rules", "2022",
                             "--json").stdout)
    assert [m["matched_key"]["name"] for m in as_json] == names
    assert all(m["rules"] == "2022" for m in as_json)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--release", "4.12", "--platform", "aws", "--backend", KUBE], 2,
                     "error: give --job, or all of --release --platform --architecture --network --topology "
                     "(and --from-release for upgrades)", id="missing-job-type-flags"),
        pytest.param(["--job-name", UPGRADE_4_12, "--backend", KUBE, "--alert", "KubeClientErrors"], 2,
                     "error: give --backend or --alert, not both", id="backend-and-alert"),
        pytest.param(["--job-name", UPGRADE_4_12, "--backend", KUBE, "--rules", "2024"], 2,
                     "error: --rules '2024': unknown rule set; choose one of current, 2023, 2022", id="unknown-rules"),
        pytest.param(["--job-name", "periodic-ci-openshift-release-master-e2e-aws", "--backend", KUBE], 3,
                     "error: periodic-ci-openshift-release-master-e2e-aws: no known release in the job name",
                     id="job-name-without-release"),
        pytest.param(["--job-name", UPGRADE_4_12, "--alert", "KubeClientErrors"], 3,
                     "holds backend rows, expected alert rows (is it the other data file?)", id="alert-in-backend-file"),
    ],
)
def test_errors(reference, args: list[str], code: int, message: str) -> None:
    result = run("match", "--data", str(reference / BACKENDS_2022), *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""
