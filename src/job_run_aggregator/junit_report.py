"""The one junit writer: `check-run`'s verdicts and `analyze-job-runs`' aggregated checks are rendered here.

The reading side is `artifacts/parse/junit.py`. Output is `<?xml …?>`, then one `<testsuite>` (or `<testsuites>`
around several), indented by two spaces, with a trailing newline. Characters XML 1.0 cannot carry even escaped
(an artifact's backend or test name may hold them) become U+FFFD, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Replace what XML 1.0 cannot carry with U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class JunitCase:
    """One `<testcase>`: a failure message, a skip message and a system-out text, each optional."""

    name: str
    classname: str | None = None
    time: str | None = None
    failure: str | None = None  # <failure message=…>…</failure>
    skipped: str | None = None  # <skipped message=…/>
    output: str | None = None  # <system-out>…</system-out>


@dataclass(frozen=True, slots=True)
class JunitSuite:
    """One `<testsuite>`; `errors_and_time` adds `errors="0" time="0"` after the counts."""

    name: str
    cases: Sequence[JunitCase]
    errors_and_time: bool = False


def _counts(cases: Sequence[JunitCase], errors_and_time: bool) -> dict[str, str]:
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(c.failure is not None for c in cases)),
        "skipped": str(sum(c.skipped is not None for c in cases)),
    }
    if errors_and_time:
        counts.update(errors="0", time="0")
    return counts


def _suite(suite: JunitSuite) -> ET.Element:
    element = ET.Element("testsuite", {"name": xml_text(suite.name), **_counts(suite.cases, suite.errors_and_time)})
    for case in suite.cases:
        attributes = {"name": xml_text(case.name)}
        if case.classname is not None:
            attributes["classname"] = xml_text(case.classname)
        if case.time is not None:
            attributes["time"] = case.time
        node = ET.SubElement(element, "testcase", attributes)
        if case.failure is not None:
            ET.SubElement(node, "failure", {"message": xml_text(case.failure)}).text = xml_text(case.failure)
        if case.skipped is not None:
            ET.SubElement(node, "skipped", {"message": xml_text(case.skipped)})
        if case.output is not None:
            ET.SubElement(node, "system-out").text = xml_text(case.output)
    return element


def render_junit_suites(suites: Sequence[JunitSuite]) -> bytes:
    """Render `suites`: the root is the suite itself when there is one, else `<testsuites>` with the totals."""
    if not suites:
        raise ValueError("render_junit_suites needs at least one suite")
    elements = [_suite(s) for s in suites]
    if len(elements) == 1:
        root = elements[0]
    else:
        every = [case for s in suites for case in s.cases]
        root = ET.Element("testsuites", _counts(every, suites[0].errors_and_time))
        root.extend(elements)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
