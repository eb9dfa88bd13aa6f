"""junit files → TestRuns rows (DESIGN §3.3), and the XML attacks they must shrug off."""

from __future__ import annotations

from pathlib import Path

import pytest

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import TestCase
from job_run_aggregator.artifacts.parse.junit import MAX_SUITE_DEPTH, MAX_SUITE_PATH, is_junit_path, parse_junit

FIXTURES = Path(__file__).parent / "fixtures"
SERVICES = (
    "[sig-network] Services should serve endpoints on same port and different protocols [Conformance]"
    " [Suite:openshift/conformance/parallel/minimal] [Suite:k8s]"
)


def test_bare_testsuite_from_openshift_tests() -> None:
    cases = parse_junit((FIXTURES / "junit_e2e__20230214-113905.xml").read_bytes(), "junit_e2e.xml")
    assert cases == [
        TestCase(
            "[sig-api-machinery] Discovery should validate PreferredVersion for each APIGroup [Conformance]"
            " [Suite:openshift/conformance/parallel/minimal] [Suite:k8s]",
            "openshift-tests",
            "Passed",
        ),
        # the skipped in-tree volume case is dropped
        TestCase(SERVICES, "openshift-tests", "Failed"),
        TestCase(SERVICES, "openshift-tests", "Passed"),  # a flake: both attempts are reported
        TestCase("[sig-arch] Monitor cluster while tests execute", "openshift-tests", "Failed"),
        TestCase(
            "[sig-node] Pods Extended Pod Container lifecycle evicted pods should be terminal"
            " [Suite:openshift/conformance/parallel] [Suite:k8s]",
            "openshift-tests",
            "Passed",  # an <error> child is not a <failure>
        ),
    ]


def test_testsuites_with_nested_suites() -> None:
    cases = parse_junit((FIXTURES / "junit_upgrade_1676373900.xml").read_bytes(), "junit_upgrade.xml")
    assert cases == [
        TestCase("[sig-cluster-lifecycle] Cluster version operator acknowledges upgrade", "Cluster upgrade", "Passed"),
        TestCase("[sig-cluster-lifecycle] cluster upgrade should be fast", "Cluster upgrade", "Passed"),
        TestCase(
            "[sig-api-machinery] Kubernetes APIs remain available for new connections",
            "Cluster upgrade|||Kubernetes APIs remain available",
            "Failed",
        ),
        TestCase(
            "[sig-api-machinery] Kubernetes APIs remain available for reused connections",
            "Cluster upgrade|||Kubernetes APIs remain available",
            "Passed",
        ),
        TestCase(
            "[bz-Routing] console is available via ingress",
            "Cluster upgrade|||Kubernetes APIs remain available|||Disruption",
            "Passed",
        ),
        TestCase(
            "[sig-arch] Check if alerts are firing during or after upgrade success", "openshift-tests-upgrade", "Failed"
        ),
    ]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        pytest.param(b"<testsuites/>", [], id="empty-testsuites"),
        pytest.param(b'<testsuite name="s"/>', [], id="empty-testsuite"),
        pytest.param(
            b'<testsuites><testcase name="orphan"/></testsuites>', [], id="case-directly-in-testsuites-ignored"
        ),
        pytest.param(
            b'<testsuite name="s"><testcase name="t"><skipped/><failure/></testcase></testsuite>',
            [],
            id="skipped-wins-over-failure",
        ),
        pytest.param(
            b'<testsuite name="s"><testcase name="t"><system-out><failure/></system-out></testcase></testsuite>',
            [TestCase("t", "s", "Passed")],
            id="failure-must-be-a-direct-child",
        ),
        pytest.param(
            b'<testsuite name="s"><properties><testcase name="hidden"/></properties></testsuite>',
            [],
            id="case-under-other-element-ignored",
        ),
        pytest.param(
            b'<testsuite><testcase name="t"/></testsuite>', [TestCase("t", "", "Passed")], id="suite-without-name"
        ),
        pytest.param(
            b'<testsuite name="s"><testcase/></testsuite>', [TestCase("", "s", "Passed")], id="case-without-name"
        ),
        pytest.param(
            b'<testsuite name="a"><testsuite name="b"><testsuite name="c"><testcase name="t"><failure>x</failure>'
            b'</testcase></testsuite></testsuite><testcase name="after"/></testsuite>',
            [TestCase("t", "a|||b|||c", "Failed"), TestCase("after", "a", "Passed")],
            id="three-levels-then-back",
        ),
        pytest.param(
            '<?xml version="1.0" encoding="ISO-8859-1"?><testsuite name="s"><testcase name="caf\xe9"/></testsuite>'.encode(
                "latin-1"
            ),
            [TestCase("café", "s", "Passed")],
            id="declared-latin-1",
        ),
        pytest.param(
            b'<testsuite name="s &amp; t"><testcase name="&lt;b&gt; &#x2603;"/></testsuite>',
            [TestCase("<b> \u2603", "s & t", "Passed")],
            id="predefined-entities-and-char-refs",
        ),
        pytest.param(
            b'<t:testsuite xmlns:t="urn:x" name="s"><t:testcase name="x"/></t:testsuite>',
            None,
            id="namespaced-root-is-not-junit",
        ),
    ],
)
def test_shapes(xml: bytes, expected: list[TestCase] | None) -> None:
    if expected is None:
        with pytest.raises(InputError, match="root element is <t:testsuite>"):
            parse_junit(xml, "junit.xml")
    else:
        assert parse_junit(xml, "junit.xml") == expected


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite>"""

DOCTYPE_REFUSED = "XML with a DOCTYPE is refused (entity expansion risk); junit files have none"


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        pytest.param(BILLION_LAUGHS, DOCTYPE_REFUSED, id="billion-laughs"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite name="&x;"/>',
            DOCTYPE_REFUSED,
            id="external-entity",
        ),
        pytest.param(
            b'<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/junit.dtd"><testsuite/>',
            DOCTYPE_REFUSED,
            id="external-dtd",
        ),
        pytest.param(
            b'<testsuite name="&undefined;"/>',
            "not well-formed XML: undefined entity at line 1, column 1",
            id="undefined-entity",
        ),
        pytest.param(b"", "not well-formed XML: no element found at line 1, column 1", id="empty"),
        pytest.param(b"<testsuite>", "not well-formed XML: no element found at line 1, column 12", id="unclosed"),
        pytest.param(
            b"<testsuite></testsuites>", "not well-formed XML: mismatched tag at line 1, column 14", id="mismatched"
        ),
        pytest.param(b"\xff\xfe\x00", "not well-formed XML: unclosed token at line 1, column 2", id="garbage-bytes"),
        pytest.param(
            b'{"BackendDisruptions": {}}',
            "not well-formed XML: not well-formed (invalid token) at line 1, column 1",
            id="json-in-xml-file",
        ),
        pytest.param(
            b"<html><body>503</body></html>",
            "root element is <html>, expected <testsuites> or <testsuite>",
            id="html-error-page",
        ),
    ],
)
def test_malformed_junit(xml: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_junit(xml, "artifacts/junit/junit_e2e.xml")
    assert caught.value.reason == reason
    assert caught.value.path == "artifacts/junit/junit_e2e.xml"


def test_suite_nesting_is_bounded() -> None:
    depth = MAX_SUITE_DEPTH + 1
    xml = b'<testsuite name="s">' * depth + b"</testsuite>" * depth
    with pytest.raises(InputError) as caught:
        parse_junit(xml, "junit.xml")
    assert caught.value.reason == f"testsuite elements nested more than {MAX_SUITE_DEPTH} deep"


def test_suite_nesting_at_the_limit_is_fine() -> None:
    xml = b'<testsuite name="s">' * MAX_SUITE_DEPTH + b'<testcase name="t"/>' + b"</testsuite>" * MAX_SUITE_DEPTH
    assert parse_junit(xml, "junit.xml") == [TestCase("t", "|||".join(["s"] * MAX_SUITE_DEPTH), "Passed")]


def test_suite_path_length_is_bounded() -> None:
    name = "n" * (MAX_SUITE_PATH // 2)
    xml = f'<testsuite name="{name}"><testsuite name="{name}"><testcase name="t"/></testsuite></testsuite>'.encode()
    with pytest.raises(InputError) as caught:
        parse_junit(xml, "junit.xml")
    assert caught.value.reason == f"test suite path is {MAX_SUITE_PATH + 3} characters, over the {MAX_SUITE_PATH} limit"


def test_deep_non_suite_nesting_needs_no_recursion() -> None:
    depth = 200_000
    xml = b'<testsuite name="s"><testcase name="t"/>' + b"<x>" * depth + b"</x>" * depth + b"</testsuite>"
    assert parse_junit(xml, "junit.xml") == [TestCase("t", "s", "Passed")]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(
            "artifacts/e2e-aws-ovn/openshift-e2e-test/artifacts/junit/junit_e2e__20230214-113905.xml", True, id="e2e"
        ),
        pytest.param("artifacts/junit_operator.xml", True, id="ci-operator"),
        pytest.param("junit.xml", True, id="bare"),
        pytest.param("artifacts/junit/e2e-monitor-tests__20230214.xml", False, id="not-junit-prefixed"),
        pytest.param("artifacts/junit/junit_e2e.json", False, id="json"),
        pytest.param("artifacts/junit/other.xml", False, id="directory-name-only"),
    ],
)
def test_is_junit_path(path: str, expected: bool) -> None:
    assert is_junit_path(path) is expected
