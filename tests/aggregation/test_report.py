from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from job_run_aggregator.aggregation.checks import (
    COLLECT_TEST_NAME,
    FAILED,
    PASSED,
    SKIPPED,
    CheckResult,
    HistoricalStats,
    check_disruption,
)
from job_run_aggregator.aggregation.report import backend_verdict, render_html, render_junit

JOB = "periodic-ci-openshift-release-master-ci-4.13-e2e-aws-ovn-upgrade"
PAYLOAD = "4.13.0-0.ci-2023-02-20-120000"
HISTORY = HistoricalStats(
    {k: 0.0 if k <= 90 else float(k - 90) for k in range(1, 100)}, mean=2.0, stddev=1.0, count=250
)


def payload_runs() -> dict[str, list[tuple[str, float]]]:
    ids = [f"16271{n:05d}" for n in range(10)]
    return {
        "kube-api-new-connections": list(zip(ids, [0, 0, 0, 0, 0, 0, 1, 0, 0, 0])),
        "ingress-to-console-new-connections": list(zip(ids, [9, 12, 14, 20, 30, 11, 13, 10, 15, 16])),
        "image-registry-new-connections": list(zip(ids[:4], [0, 0, 0, 0])),
    }


def results() -> list[CheckResult]:
    runs = payload_runs()
    history = {"kube-api-new-connections": HISTORY, "ingress-to-console-new-connections": HISTORY}
    return check_disruption(runs, history, job_name=JOB)


def test_junit_counts_and_elements() -> None:
    checks = results()
    root = ET.fromstring(render_junit(checks))
    assert root.tag == "testsuite"
    assert root.attrib["name"] == "BackendDisruption"
    cases = root.findall("testcase")
    assert len(cases) == len(checks) == 16
    failures = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert (root.attrib["tests"], root.attrib["failures"], root.attrib["skipped"]) == (
        "16",
        str(len(failures)),
        str(len(skipped)),
    )
    assert len(failures) == sum(r.status == FAILED for r in checks) == 5
    assert len(skipped) == sum(r.status == SKIPPED for r in checks)
    assert cases[0].attrib["name"] == COLLECT_TEST_NAME
    by_name = {c.attrib["name"]: c for c in cases}
    failure = by_name["ingress-to-console-new-connections disruption P95 should not be worse"].find("failure")
    assert failure is not None
    assert failure.attrib["message"] == failure.text
    assert failure.attrib["message"].startswith(
        "Zero of 10 runs at or below historical P95=5s (250 runs); at least one"
    )
    assert "Failed runs: 1627100000=9s 1627100001=12s 1627100002=14s" in failure.attrib["message"]
    skip = by_name["image-registry-new-connections disruption P70 should not be worse"].find("skipped")
    assert skip is not None
    assert (
        skip.attrib["message"]
        == "Skipped: no historical disruption data for image-registry-new-connections in " + JOB + "."
    )
    passed = by_name["kube-api-new-connections disruption P95 should not be worse"]
    assert passed.find("failure") is None and passed.find("skipped") is None
    assert passed.findtext("system-out", "").startswith("10 of 10 runs at or below historical P95=5s")


def test_junit_escapes_and_strips_what_xml_cannot_hold() -> None:
    result = CheckResult("BackendDisruption", 'a<b>&"c"\x01 check', FAILED, 'bad\x00 <tag> & "q"', "a", 1.0, ())
    root = ET.fromstring(render_junit([result]))
    case = root.find("testcase")
    assert case is not None
    assert case.attrib["name"] == 'a<b>&"c"\ufffd check'
    assert case.find("failure").attrib["message"] == 'bad\ufffd <tag> & "q"'


def test_junit_several_suites_and_empty() -> None:
    one = CheckResult("BackendDisruption", "x", PASSED, "ok", "b", 1.0, ())
    other = CheckResult("Other", "y", SKIPPED, "why", "b", None, ())
    root = ET.fromstring(render_junit([one, other]))
    assert root.tag == "testsuites"
    assert [s.attrib["name"] for s in root.findall("testsuite")] == ["BackendDisruption", "Other"]
    assert (root.attrib["tests"], root.attrib["skipped"], root.attrib["failures"]) == ("2", "1", "0")
    empty = ET.fromstring(render_junit([]))
    assert (empty.tag, empty.attrib["tests"]) == ("testsuite", "0")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def test_html_is_self_contained_and_shows_each_backend() -> None:
    page = render_html(JOB, PAYLOAD, results(), payload_runs())
    parsed = parse(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(|@import""", page)
    assert parsed.tags.count("svg") == 3
    assert parsed.tags.count("circle") == 10 + 10 + 4
    text = "".join(parsed.text)
    assert f"Backend disruption of {JOB}" in text
    assert "P95=5s (failed)" in text and "mean+5σ 7s (failed)" in text and "zero P90=0s (failed)" in text
    assert "1627100004=30s" in text  # the dropped outlier's dot tooltip
    assert "ingress-to-console-new-connections disruption P70 should not be worse" in text


def test_html_escapes_names() -> None:
    job = "periodic-<script>alert('job')</script>"
    runs = {"<img src=x onerror=alert(1)>": [("<b>1</b>", 5.0), ("2", 0.0), ("3", 0.0)]}
    page = render_html(job, '"><script>', check_disruption(runs, {}, job_name=job), runs)
    parsed = parse(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "b" not in parsed.tags
    assert "<script>" not in page and "<img" not in page
    text = "".join(parsed.text)
    assert job in text and "<img src=x onerror=alert(1)>" in text and "<b>1</b>=5s" in text
    assert all("onerror" not in name for name, _ in parsed.attrs)


def test_html_shows_backends_not_judged_when_gate_fails() -> None:
    runs = {"kube-api-new-connections": [("1", 3.0), ("2", 0.0)]}
    page = render_html(JOB, PAYLOAD, check_disruption(runs, {}), runs)
    text = "".join(parse(page).text)
    assert "Only 2 runs reported disruption data (1, 2)" in text
    assert "Not judged (excluded, or too few runs reported disruption data)." in text


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        pytest.param([PASSED, FAILED, SKIPPED], FAILED, id="any-failure"),
        pytest.param([SKIPPED, PASSED], PASSED, id="passed-and-skipped"),
        pytest.param([SKIPPED, SKIPPED], SKIPPED, id="all-skipped"),
        pytest.param([], "not-judged", id="no-checks"),
    ],
)
def test_backend_verdict(statuses: list[str], verdict: str) -> None:
    checks = [CheckResult("BackendDisruption", "n", s, "m", "b", None, ()) for s in statuses]
    assert backend_verdict(checks) == verdict


def test_html_lists_failed_backends_first() -> None:
    page = render_html(JOB, PAYLOAD, results(), payload_runs())
    sections = re.findall(r'<section id="backend-([\w-]+)">', page)
    assert sections == [
        "ingress-to-console-new-connections",
        "kube-api-new-connections",
        "image-registry-new-connections",
    ]
