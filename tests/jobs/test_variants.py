"""Job name → Variant (DESIGN §5), rule by rule, on real names from the 2023-02 reference list where one exists."""

from __future__ import annotations

from collections import Counter

import pytest

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.jobs.names import read_job_names
from job_run_aggregator.model import Variant
from job_run_aggregator.jobs.variants import (
    DEFAULT_RELEASES,
    parse_releases,
    release_key,
    releases_in,
    variant_for,
)

from paths import REFERENCE
# The list the Go tool had when it primed the reference names (ci-tools, early 2023).
GO_RELEASES = ("4.14", "4.13", "4.12", "4.11", "4.10", "4.9", "4.8")


def reference_names() -> list[str]:
    return read_job_names((REFERENCE / "job_names_2023-02.txt").read_text(encoding="utf-8"))


def fields(variant: Variant) -> dict[str, object]:
    return {
        "platform": variant.platform,
        "architecture": variant.architecture,
        "network": variant.network,
        "ip_mode": variant.ip_mode,
        "topology": variant.topology,
        "release": variant.release,
        "from_release": variant.from_release,
        "runs_upgrade": variant.runs_upgrade,
        "runs_e2e_parallel": variant.runs_e2e_parallel,
        "runs_e2e_serial": variant.runs_e2e_serial,
    }


def expected(
    platform: str = "aws",
    architecture: str = "amd64",
    network: str = "sdn",
    ip_mode: str = "ipv4",
    topology: str = "ha",
    release: str = "4.12",
    from_release: str = "",
    upgrade: bool = False,
    serial: bool = False,
) -> dict[str, object]:
    return {
        "platform": platform,
        "architecture": architecture,
        "network": network,
        "ip_mode": ip_mode,
        "topology": topology,
        "release": release,
        "from_release": from_release,
        "runs_upgrade": upgrade,
        "runs_e2e_parallel": not upgrade and not serial,
        "runs_e2e_serial": serial,
    }


VARIANT_CASES = [
    # The three examples of DESIGN §5.8.
    pytest.param(
        "release-openshift-origin-installer-e2e-aws-upgrade-4.11-to-4.12-to-4.13-to-4.14-ci",
        expected(release="4.14", from_release="4.11", upgrade=True),
        id="design-multi-version-upgrade",
    ),
    pytest.param(
        "release-openshift-origin-installer-e2e-aws-4.11-to-4.12-to-4.13-to-4.14-ci",
        expected(release="4.14"),
        id="design-versions-without-upgrade",
    ),
    pytest.param(
        "release-openshift-origin-installer-e2e-aws-upgrade-4.14-ci",
        expected(release="4.14", from_release="4.14", upgrade=True),
        id="design-micro-upgrade",
    ),
    # Real names from the reference list.
    pytest.param(
        "release-openshift-origin-installer-e2e-aws-upgrade-4.7-to-4.8-to-4.9-to-4.10-ci",
        expected(release="4.10", from_release="4.8", upgrade=True),
        id="multi-version-upgrade-unknown-4.7-ignored",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-ci-4.10-upgrade-from-stable-4.9-e2e-azure-upgrade",
        expected(platform="azure", release="4.10", from_release="4.9", upgrade=True),
        id="upgrade-from-stable-minor",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.11-upgrade-from-stable-4.10-ocp-e2e-aws-arm64",
        expected(architecture="arm64", release="4.11", from_release="4.10", upgrade=True),
        id="upgrade-from-stable-arm64",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-ci-4.12-e2e-gcp-ovn-upgrade",
        expected(platform="gcp", network="ovn", from_release="4.12", upgrade=True),
        id="micro-upgrade-gcp-ovn",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-ci-4.10-e2e-aws-upgrade-ovn-single-node",
        expected(network="ovn", topology="single", release="4.10", from_release="4.10", upgrade=True),
        id="single-node-upgrade",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.12-ocp-e2e-aws-ovn-arm64-single-node",
        expected(architecture="arm64", network="ovn", topology="single"),
        id="single-node-arm64",
    ),
    pytest.param(
        "periodic-ci-openshift-hypershift-main-periodics-4.13-conformance-aws-ovn",
        expected(network="ovn", topology="external", release="4.13"),
        id="hypershift-external",
    ),
    pytest.param(
        "periodic-ci-openshift-hypershift-main-periodics-4.13-e2e-aws-ovn-periodic-conformance-serial",
        expected(network="ovn", topology="external", release="4.13", serial=True),
        id="hypershift-serial",
    ),
    pytest.param(
        "periodic-ci-openshift-hypershift-main-periodics-4.13-e2e-ibmcloud-roks",
        expected(platform="ibmcloud", topology="external", release="4.13"),
        id="hypershift-ibmcloud",
    ),
    pytest.param(
        "periodic-ci-openshift-hypershift-main-periodics-4.13-conformance-agent-ovn",
        expected(platform="", network="ovn", topology="external", release="4.13"),
        id="hypershift-no-platform",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.10-e2e-metal-ipi-upgrade-ovn-ipv6",
        expected(platform="metal", network="ovn", ip_mode="ipv6", release="4.10", from_release="4.10", upgrade=True),
        id="metal-ipv6-upgrade",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.10-e2e-metal-ipi-serial-ovn-dualstack",
        expected(platform="metal", network="ovn", ip_mode="dualstack", release="4.10", serial=True),
        id="metal-dualstack-serial",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.10-ocp-e2e-remote-libvirt-s390x",
        expected(platform="libvirt", architecture="s390x", release="4.10"),
        id="libvirt-s390x",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.10-ocp-e2e-serial-remote-libvirt-ppc64le",
        expected(platform="libvirt", architecture="ppc64le", release="4.10", serial=True),
        id="libvirt-ppc64le-serial",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.12-ocp-e2e-aws-ovn-heterogeneous",
        expected(network="ovn"),
        id="multi-arch-heterogeneous-is-amd64",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.12-ocp-e2e-serial-ovn-ppc64le-powervs",
        expected(platform="", architecture="ppc64le", network="ovn", serial=True),
        id="powervs-no-platform",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-ci-4.13-upgrade-from-stable-4.12-e2e-ovirt-sdn-upgrade",
        expected(platform="ovirt", release="4.13", from_release="4.12", upgrade=True),
        id="ovirt",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-ci-4.13-upgrade-from-stable-4.12-e2e-vsphere-ovn-upgrade",
        expected(platform="vsphere", network="ovn", release="4.13", from_release="4.12", upgrade=True),
        id="vsphere",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.11-e2e-alibaba-csi",
        expected(platform="alibaba", release="4.11"),
        id="alibaba",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.10-credentials-request-freeze",
        expected(platform="", release="4.10"),
        id="no-platform",
    ),
    # Precedence on constructed names: first match wins exactly as in the Go tool.
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-gcp-serial",
        expected(platform="gcp", release="4.13", serial=True),
        id="gcp-beats-aws",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-baremetal-azure",
        expected(platform="azure", release="4.13"),
        id="azure-beats-metal",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-baremetalds-ipi-ovn",
        expected(platform="metal", network="ovn", release="4.13"),
        id="metal-in-baremetal",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-openstack-ovn",
        expected(platform="openstack", network="ovn", release="4.13"),
        id="openstack",
    ),
    pytest.param(
        "periodic-ci-openshift-hypershift-main-periodics-4.13-e2e-aws-single-replica",
        expected(topology="single", release="4.13"),
        id="single-beats-hypershift",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-singlestack-e2e-aws",
        expected(topology="single", release="4.13"),
        id="single-anywhere",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.13-ocp-e2e-arm64-ppc64le-s390x",
        expected(platform="", architecture="arm64", release="4.13"),
        id="arm64-beats-ppc64le-s390x",
    ),
    pytest.param(
        "periodic-ci-openshift-multiarch-master-nightly-4.13-ocp-e2e-s390x-ppc64le",
        expected(platform="", architecture="ppc64le", release="4.13"),
        id="ppc64le-beats-s390x",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-metal-ipi-ovn-dual-stack",
        expected(platform="metal", network="ovn", ip_mode="dualstack", release="4.13"),
        id="dual-stack-hyphenated",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-metal-ipi-ovn-dualstack-ipv6-primary",
        expected(platform="metal", network="ovn", ip_mode="ipv6", release="4.13"),
        id="ipv6-beats-dualstack",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.13-e2e-aws-ovn-upgrade-serial",
        expected(network="ovn", release="4.13", from_release="4.13", upgrade=True, serial=True),
        id="upgrade-serial-not-parallel",
    ),
    # Release detection beyond the Go tool's list.
    pytest.param(
        "periodic-ci-openshift-release-main-nightly-5.0-upgrade-from-stable-4.22-e2e-aws-ovn-upgrade",
        expected(network="ovn", release="5.0", from_release="4.22", upgrade=True),
        id="5.0-from-4.22-numeric-order",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.15-upgrade-from-4.15.1-e2e-aws-upgrade",
        expected(release="4.15", from_release="4.15", upgrade=True),
        id="micro-version-is-not-5.1",
    ),
    pytest.param(
        "periodic-ci-openshift-release-master-nightly-4.20-e2e-gcp-ovn",
        expected(platform="gcp", network="ovn", release="4.20"),
        id="4.20",
    ),
]


@pytest.mark.parametrize(("job_name", "want"), VARIANT_CASES)
def test_variant_for(job_name: str, want: dict[str, object]) -> None:
    variant = variant_for(job_name)
    assert variant.job_name == job_name
    assert fields(variant) == want


@pytest.mark.parametrize(
    ("job_name", "releases", "release", "from_release"),
    [
        pytest.param("e2e-aws-upgrade-4.10-ci", ("4.10", "4.1"), "4.10", "4.10", id="4.1-not-in-4.10"),
        pytest.param("e2e-aws-upgrade-4.1-to-4.10-ci", ("4.10", "4.1"), "4.10", "4.1", id="4.1-and-4.10"),
        pytest.param("e2e-aws-upgrade-4.1-ci", ("4.10", "4.1"), "4.1", "4.1", id="4.1-alone"),
        pytest.param("e2e-aws-upgrade-4.12.3-ci", ("4.12", "2.3"), "4.12", "4.12", id="inside-micro-version"),
        pytest.param("e2e-aws-upgrade-ocp4.12-ci", ("4.12",), "4.12", "4.12", id="after-letters"),
        pytest.param("e2e-aws-upgrade-4.7-ci", ("4.7",), "4.7", "4.7", id="custom-list"),
    ],
)
def test_release_boundaries(job_name: str, releases: tuple[str, ...], release: str, from_release: str) -> None:
    variant = variant_for(job_name, releases)
    assert (variant.release, variant.from_release) == (release, from_release)


@pytest.mark.parametrize(
    ("job_name", "releases", "message"),
    [
        pytest.param(
            "periodic-ci-openshift-release-master-nightly-e2e-aws",
            DEFAULT_RELEASES,
            "periodic-ci-openshift-release-master-nightly-e2e-aws: no known release in the job name "
            "(looked for 5.9 … 4.8; set the list with --releases); job skipped",
            id="no-version",
        ),
        pytest.param(
            "release-openshift-origin-installer-e2e-aws-upgrade-4.6-to-4.7-ci",
            DEFAULT_RELEASES,
            "release-openshift-origin-installer-e2e-aws-upgrade-4.6-to-4.7-ci: no known release in the job name "
            "(looked for 5.9 … 4.8; set the list with --releases); job skipped",
            id="only-old-versions",
        ),
        pytest.param(
            "periodic-ci-openshift-release-master-nightly-4.130-e2e-aws",
            ("4.13",),
            "periodic-ci-openshift-release-master-nightly-4.130-e2e-aws: no known release in the job name "
            "(looked for 4.13; set the list with --releases); job skipped",
            id="longer-number-is-no-match",
        ),
    ],
)
def test_variant_for_without_release(job_name: str, releases: tuple[str, ...], message: str) -> None:
    with pytest.raises(InputError) as raised:
        variant_for(job_name, releases)
    assert str(raised.value) == message
    assert raised.value.path == job_name


def test_default_releases_are_newest_first_and_collision_free() -> None:
    assert DEFAULT_RELEASES[0] == "5.9" and DEFAULT_RELEASES[-1] == "4.8"
    assert set(DEFAULT_RELEASES) == {f"5.{m}" for m in range(10)} | {f"4.{m}" for m in range(8, 23)}
    assert list(DEFAULT_RELEASES) == sorted(DEFAULT_RELEASES, key=release_key, reverse=True)
    for release in DEFAULT_RELEASES:
        assert [other for other in DEFAULT_RELEASES if release in other] == [release]


def test_every_reference_name_has_a_variant() -> None:
    names = reference_names()
    assert len(names) == 673
    variants = [variant_for(name) for name in names]
    for variant in variants:
        assert variant.release in variant.job_name
        assert (variant.from_release != "") == variant.runs_upgrade
        assert release_key(variant.from_release or variant.release) <= release_key(variant.release)
    assert Counter(v.platform for v in variants) == {
        "aws": 275, "azure": 87, "gcp": 82, "metal": 71, "libvirt": 52, "vsphere": 47,
        "": 29, "ovirt": 16, "alibaba": 8, "ibmcloud": 6,
    }  # fmt: skip
    assert Counter(v.architecture for v in variants) == {"amd64": 559, "arm64": 54, "ppc64le": 32, "s390x": 28}
    assert Counter(v.release for v in variants) == {"4.10": 147, "4.11": 164, "4.12": 179, "4.13": 183}
    assert Counter(v.topology for v in variants) == {"ha": 631, "single": 32, "external": 10}
    assert Counter(v.runs_upgrade for v in variants) == {False: 519, True: 154}


def test_release_guard_agrees_with_plain_containment_on_reference() -> None:
    # The Go rule: every listed version that is a substring counts. On real names our guarded match must agree.
    for name in reference_names():
        plain = sorted((r for r in GO_RELEASES if r in name), key=release_key, reverse=True)
        assert releases_in(name, DEFAULT_RELEASES) == plain, name


@pytest.mark.parametrize(
    ("text", "releases"),
    [
        pytest.param("4.12,4.13", ("4.13", "4.12"), id="newest-first"),
        pytest.param(" 4.9 , 4.10,4.9", ("4.10", "4.9"), id="numeric-order-and-duplicates"),
        pytest.param("4.22,5.0,4.8", ("5.0", "4.22", "4.8"), id="major-5"),
        pytest.param("4.08", ("4.8",), id="padded-minor"),
    ],
)
def test_parse_releases(text: str, releases: tuple[str, ...]) -> None:
    assert parse_releases(text) == releases


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "4.12,foo", "--releases '4.12,foo': 'foo' is not a release of the form N.M (e.g. 4.14)", id="word"
        ),
        pytest.param("4", "--releases '4': '4' is not a release of the form N.M (e.g. 4.14)", id="major-only"),
        pytest.param(
            "4.12.1", "--releases '4.12.1': '4.12.1' is not a release of the form N.M (e.g. 4.14)", id="micro"
        ),
        pytest.param("4.12,", "--releases '4.12,': '' is not a release of the form N.M (e.g. 4.14)", id="trailing"),
        pytest.param(
            " ", "--releases ' ': no release given; expected a comma-separated list like 4.12,4.13", id="empty"
        ),
    ],
)
def test_parse_releases_rejects(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_releases(text)
    assert str(raised.value) == message
