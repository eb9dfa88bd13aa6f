"""Job-name lists (DESIGN §5): reading, generating from a release checkout, and planning the Jobs rows."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.jobs.names import (
    SOURCE_URL_PREFIX,
    ColumnChange,
    Section,
    generate_job_names,
    is_kept_periodic,
    names_from_periodics,
    names_from_release_config,
    plan_priming,
    read_job_names,
    render_job_names,
)
from job_run_aggregator.model import Problem
from job_run_aggregator.jobs.variants import parse_releases, variant_for

from paths import FIXTURES, REFERENCE
REFERENCE_FILE = REFERENCE / "job_names_2023-02.txt"
FIXTURE_REPO = FIXTURES / "release-repo"
FIXTURE_RELEASES = parse_releases("4.9,4.13,4.14")


def reference_sections(text: str) -> list[Section]:
    found = re.findall(r"// begin (\S+)\n(.*?)// end \1\n\n", text, re.DOTALL)
    return [Section(source, tuple(body.splitlines())) for source, body in found]


def section(relative: str, *names: str) -> str:
    url = SOURCE_URL_PREFIX + relative
    return "".join([f"// begin {url}\n", *(f"{name}\n" for name in names), f"// end {url}\n\n"])


RELEASES_DIR = "core-services/release-controller/_releases"
JOBS_DIR = "ci-operator/jobs/openshift"
FIXTURE_EXPECTED = (
    "// generated using `./job-run-aggregator generate-job-names`\n\n"
    + section(f"{RELEASES_DIR}/release-ocp-4.9.json", "periodic-ci-openshift-release-master-nightly-4.9-e2e-azure")
    + section(f"{RELEASES_DIR}/release-ocp-4.13-arm64.json")
    + section(
        f"{RELEASES_DIR}/release-ocp-4.13-ci.json",
        "periodic-ci-openshift-release-master-ci-4.13-e2e-gcp-sdn",
        "periodic-ci-openshift-release-master-ci-4.13-upgrade-from-stable-4.12-e2e-gcp-ovn-upgrade",
    )
    + section(
        f"{RELEASES_DIR}/release-ocp-4.13.json",
        "periodic-ci-openshift-microshift-main-periodic-ocp-4.13-conformance-serial",
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-ovn-upgrade",
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-ovn-upgrade",
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-sdn-serial",
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-metal-ipi-ovn-ipv6",
    )
    + section(
        f"{JOBS_DIR}/hypershift/openshift-hypershift-main-periodics.yaml",
        "periodic-ci-openshift-hypershift-main-periodics-4.13-e2e-aws-ovn-periodic-conformance-serial",
        "periodic-ci-openshift-hypershift-main-periodics-4.14-conformance-aws-ovn",
    )
    + section(
        f"{JOBS_DIR}/multiarch/openshift-multiarch-master-periodics.yaml",
        "periodic-ci-openshift-multiarch-master-nightly-4.13-ocp-e2e-aws-ovn-arm64",
        "periodic-ci-openshift-multiarch-master-nightly-4.13-ocp-e2e-aws-ovn-heterogeneous-upgrade",
        "periodic-ci-openshift-multiarch-master-nightly-4.13-ocp-e2e-ovn-ppc64le-powervs",
    )
    + section(
        f"{JOBS_DIR}/release/openshift-release-master-periodics.yaml",
        "periodic-ci-openshift-release-master-ci-4.13-e2e-azure-ovn-single-node",
        "periodic-ci-openshift-release-master-ci-4.13-e2e-azure-ovn-single-node",
        "periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade",
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-vsphere-ovn-upi-serial",
        "release-openshift-origin-installer-e2e-aws-upgrade-4.9-to-4.13-ci",
    )
    + section(
        f"{JOBS_DIR}/release/openshift-release-release-4.9-periodics.yaml",
        "periodic-ci-openshift-release-master-nightly-4.9-e2e-metal-ipi-serial-ipv4",
    )
)


# --- reading -------------------------------------------------------------------------------------------------


def test_read_job_names_reference() -> None:
    names = read_job_names(REFERENCE_FILE.read_text(encoding="utf-8"))
    assert len(names) == 673
    assert len(set(names)) == 673
    assert names[0] == "periodic-ci-openshift-multiarch-master-nightly-4.10-ocp-e2e-aws-arm64"
    assert not any(name.startswith("//") or not name for name in names)


def test_read_job_names_skips_comments_blanks_and_repeats() -> None:
    text = "// header\n\nb-4.12\r\n  a-4.12  \n// begin x\nb-4.12\n\n// end x\nc-4.13"
    assert read_job_names(text) == ["b-4.12", "a-4.12", "c-4.13"]


# --- the output format ---------------------------------------------------------------------------------------


def test_render_reproduces_reference_file() -> None:
    text = REFERENCE_FILE.read_text(encoding="utf-8")
    sections = reference_sections(text)
    assert len(sections) == 24
    assert render_job_names(sections) == text


def test_generate_reproduces_reference_from_a_checkout(tmp_path: Path) -> None:
    """Lay the reference sections out as an openshift/release checkout; generating must give the file back."""
    text = REFERENCE_FILE.read_text(encoding="utf-8")
    for item in reference_sections(text):
        relative = item.source.removeprefix(SOURCE_URL_PREFIX)
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith(".json"):
            verify = {f"job{index}": {"prowJob": {"name": name}} for index, name in enumerate(item.names)}
            path.write_text(json.dumps({"name": "x", "verify": verify}), encoding="utf-8")
        else:
            path.write_text("periodics:\n" + "".join(f"- name: {name}\n" for name in item.names), encoding="utf-8")
    generated = generate_job_names(tmp_path, parse_releases("4.10,4.11,4.12,4.13"))
    assert generated.problems == ()
    assert generated.text == text


# --- generating from the fixture checkout -------------------------------------------------------------------


def test_generate_fixture_repo() -> None:
    generated = generate_job_names(FIXTURE_REPO, FIXTURE_RELEASES)
    assert generated.text == FIXTURE_EXPECTED


def test_generate_fixture_repo_reports_malformed_files() -> None:
    generated = generate_job_names(FIXTURE_REPO, FIXTURE_RELEASES)
    assert [str(problem) for problem in generated.problems] == [
        (
            f"{FIXTURE_REPO}/{RELEASES_DIR}/release-ocp-4.14.json: invalid JSON: Expecting property name enclosed "
            "in double quotes: line 5 column 1 (char 145); file skipped"
        ),
        (
            f"{FIXTURE_REPO}/{JOBS_DIR}/multiarch/openshift-multiarch-broken-periodics.yaml: invalid YAML: "
            "mapping values are not allowed here at line 4, column 8; file skipped"
        ),
    ]


def test_generate_release_filter_picks_config_files() -> None:
    text = generate_job_names(FIXTURE_REPO, ("4.12",)).text
    assert "release-ocp-4.12.json" in text
    assert "release-ocp-4.13" not in text
    assert "release-okd-4.13.json" not in text
    assert (
        "openshift-release-release-4.12-periodics.yaml\nperiodic-ci-openshift-release-release-4.12-e2e-aws-ovn\n"
        in text
    )
    assert "openshift-hypershift-main-periodics.yaml" not in text  # no 4.12 job there


def test_generate_ignores_symlinks_leaving_the_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "release"
    shutil.copytree(FIXTURE_REPO, checkout)
    outside = tmp_path / "outside-periodics.yaml"
    outside.write_text("periodics:\n- name: periodic-ci-outside-4.13-e2e-aws\n", encoding="utf-8")
    (checkout / JOBS_DIR / "release" / "outside-periodics.yaml").symlink_to(outside)
    inside_target = checkout / JOBS_DIR / "hypershift" / "openshift-hypershift-main-periodics.yaml"
    (checkout / JOBS_DIR / "release" / "linked-periodics.yaml").symlink_to(inside_target)
    text = generate_job_names(checkout, FIXTURE_RELEASES).text
    assert "periodic-ci-outside-4.13-e2e-aws" not in text
    assert f"// begin {SOURCE_URL_PREFIX}{JOBS_DIR}/release/linked-periodics.yaml\n" in text


def test_generate_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        generate_job_names(tmp_path, FIXTURE_RELEASES)
    assert str(raised.value) == (
        f"{tmp_path}: not an openshift/release checkout (neither core-services/release-controller/_releases "
        "nor ci-operator/jobs/openshift/{release,multiarch,hypershift} found)"
    )


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        pytest.param("periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-ovn", True, id="kept"),
        pytest.param(
            "periodic-ci-openshift-release-master-ci-4.13-e2e-aws-ovn-upgrade-disruptive", False, id="disruptive"
        ),
        pytest.param("periodic-ci-openshift-microshift-release-4.13-periodics-e2e-aws", False, id="microshift"),
        pytest.param("periodic-ci-openshift-release-master-okd-4.13-e2e-aws", False, id="okd"),
        pytest.param("periodic-ci-openshift-release-master-nightly-4.12-e2e-aws", False, id="other-release"),
        pytest.param("periodic-ci-openshift-release-master-nightly-ocp4.13-e2e-aws", False, id="no-dash"),
        pytest.param("periodic-ci-openshift-release-master-nightly-4.130-e2e-aws", False, id="longer-number"),
        pytest.param("release-openshift-origin-installer-e2e-aws-upgrade-4.9-to-4.13", True, id="at-end"),
    ],
)
def test_is_kept_periodic(name: str, kept: bool) -> None:
    assert is_kept_periodic(name, FIXTURE_RELEASES) is kept


@pytest.mark.parametrize(
    ("data", "names", "errors"),
    [
        pytest.param({"name": "4.13.0-0.ci"}, [], [], id="no-verify"),
        pytest.param(
            {"verify": {"a": {"prowJob": {"name": "job-a-4.13"}}, "b": {"optional": True}, "c": "x"}},
            ["job-a-4.13"],
            ['"verify.b.prowJob.name" missing', '"verify.c.prowJob.name" missing'],
            id="entry-without-prowjob",
        ),
        pytest.param({"verify": ["x"]}, [], ['"verify" is a list, expected an object'], id="verify-list"),
        pytest.param([1], [], ["expected a JSON object, found list"], id="top-level-list"),
    ],
)
def test_names_from_release_config(data: object, names: list[str], errors: list[str]) -> None:
    assert names_from_release_config(data) == (names, errors)


@pytest.mark.parametrize(
    ("data", "names", "errors"),
    [
        pytest.param(None, [], [], id="empty-file"),
        pytest.param({"postsubmits": {}}, [], [], id="no-periodics"),
        pytest.param(
            {"periodics": [{"name": "job-4.13"}, {"cron": "x"}, "y"]},
            ["job-4.13"],
            ['"periodics[1].name" missing', '"periodics[2].name" missing'],
            id="entry-without-name",
        ),
        pytest.param({"periodics": {"a": 1}}, [], ['"periodics" is a dict, expected a list'], id="periodics-map"),
        pytest.param("text", [], ["expected a YAML mapping, found str"], id="scalar"),
    ],
)
def test_names_from_periodics(data: object, names: list[str], errors: list[str]) -> None:
    assert names_from_periodics(data, FIXTURE_RELEASES) == (names, errors)


# --- planning the Jobs rows -----------------------------------------------------------------------------------


def test_plan_priming_reference_is_idempotent() -> None:
    names = read_job_names(REFERENCE_FILE.read_text(encoding="utf-8"))
    first = plan_priming(names, {}, bucket_name="test-platform-results")
    assert first.summary() == "673 new, 0 unchanged, 0 updated, 0 rejected"
    assert [row["JobName"] for row in first.new] == names
    stored = {str(row["JobName"]): row for row in first.new}
    second = plan_priming(names, stored, bucket_name="test-platform-results")
    assert second.summary() == "0 new, 673 unchanged, 0 updated, 0 rejected"
    assert second.unchanged == tuple(names)


IPV6_JOB = "periodic-ci-openshift-release-master-nightly-4.12-e2e-metal-ipi-ovn-ipv6"
GCP_JOB = "periodic-ci-openshift-release-master-ci-4.12-e2e-gcp-ovn-upgrade"


def test_plan_priming_cases() -> None:
    # The Go tool always stored IPMode ipv4; an operator turned disruption off for the gcp job by hand.
    go_row = {**variant_for(IPV6_JOB).jobs_row(), "IPMode": "ipv4"}
    hand_row = {
        **variant_for(GCP_JOB).jobs_row("origin-ci-test"),
        "CollectDisruption": False,
        "Platform": "aws",
        "FromRelease": "",
    }
    names = [IPV6_JOB, GCP_JOB, "periodic-ci-no-release-e2e-aws", GCP_JOB, "e2e-aws-4.7"]
    plan = plan_priming(names, {IPV6_JOB: go_row, GCP_JOB: hand_row}, parse_releases("4.12"), "test-platform-results")
    assert plan.summary() == "0 new, 0 unchanged, 2 updated, 2 rejected"
    ipv6, gcp = plan.updated
    assert ipv6.changes == (ColumnChange("IPMode", "ipv4", "ipv6"),)
    assert ipv6.row == variant_for(IPV6_JOB).jobs_row()
    assert [str(change) for change in gcp.changes] == ["Platform: 'aws' -> 'gcp'", "FromRelease: '' -> '4.12'"]
    assert gcp.row == {**variant_for(GCP_JOB).jobs_row("origin-ci-test"), "CollectDisruption": False}
    assert plan.rejected == (
        Problem(
            "periodic-ci-no-release-e2e-aws",
            "no known release in the job name (looked for 4.12; set the list with --releases); job skipped",
        ),
        Problem(
            "e2e-aws-4.7",
            "no known release in the job name (looked for 4.12; set the list with --releases); job skipped",
        ),
    )


def test_plan_priming_new_rows_use_bucket_and_releases() -> None:
    plan = plan_priming(["e2e-aws-upgrade-4.7-ci"], {}, ("4.7",), "origin-ci-test")
    assert plan.new == (
        {
            "JobName": "e2e-aws-upgrade-4.7-ci",
            "GCSBucketName": "origin-ci-test",
            "GCSJobHistoryLocationPrefix": "logs/e2e-aws-upgrade-4.7-ci",
            "CollectDisruption": True,
            "CollectTestRuns": True,
            "Platform": "aws",
            "Architecture": "amd64",
            "Network": "sdn",
            "IPMode": "ipv4",
            "Topology": "ha",
            "Release": "4.7",
            "FromRelease": "4.7",
            "RunsUpgrade": True,
            "RunsE2EParallel": False,
            "RunsE2ESerial": False,
        },
    )
