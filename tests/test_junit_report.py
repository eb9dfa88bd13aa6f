"""The one junit writer (issue 14): both callers' shapes, pinned byte for byte, and hostile characters."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from job_run_aggregator.junit_report import JunitCase, JunitSuite, render_junit_suites


def test_check_run_shape_is_pinned() -> None:
    cases = [JunitCase("t1", time="0", failure="boom <&>"), JunitCase("t1", time="0", output="ok"),
             JunitCase("t2", time="0", skipped="why", output="why")]
    assert render_junit_suites([JunitSuite("S", cases)]) == (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b'<testsuite name="S" tests="3" failures="1" skipped="1">\n'
        b'  <testcase name="t1" time="0">\n    <failure message="boom &lt;&amp;&gt;">boom &lt;&amp;&gt;</failure>\n'
        b"  </testcase>\n"
        b'  <testcase name="t1" time="0">\n    <system-out>ok</system-out>\n  </testcase>\n'
        b'  <testcase name="t2" time="0">\n    <skipped message="why" />\n    <system-out>why</system-out>\n'
        b"  </testcase>\n</testsuite>\n"
    )


def test_aggregated_shape_with_two_suites_is_pinned() -> None:
    suites = [JunitSuite("A", [JunitCase("x", classname="A", output="fine")], errors_and_time=True),
              JunitSuite("B", [JunitCase("y", classname="B", failure="bad")], errors_and_time=True)]
    assert render_junit_suites(suites) == (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b'<testsuites tests="2" failures="1" skipped="0" errors="0" time="0">\n'
        b'  <testsuite name="A" tests="1" failures="0" skipped="0" errors="0" time="0">\n'
        b'    <testcase name="x" classname="A">\n      <system-out>fine</system-out>\n    </testcase>\n'
        b"  </testsuite>\n"
        b'  <testsuite name="B" tests="1" failures="1" skipped="0" errors="0" time="0">\n'
        b'    <testcase name="y" classname="B">\n      <failure message="bad">bad</failure>\n    </testcase>\n'
        b"  </testsuite>\n</testsuites>\n"
    )


def test_characters_xml_cannot_carry_are_replaced_so_the_file_parses() -> None:
    hostile = "a\x00b\x1bc\ud800d\ufffe"
    data = render_junit_suites([JunitSuite(hostile, [JunitCase(hostile, classname=hostile, failure=hostile,
                                                                output=hostile)])])
    root = ET.fromstring(data)
    assert root.get("name") == "a\ufffdb\ufffdc\ufffdd\ufffd"
    assert root.find("testcase/failure").text == "a\ufffdb\ufffdc\ufffdd\ufffd"


def test_no_suite_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one suite"):
        render_junit_suites([])
