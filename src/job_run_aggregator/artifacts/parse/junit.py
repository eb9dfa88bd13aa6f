"""junit*.xml → test cases for TestRuns (DESIGN §3.3).

Parsed with expat event handlers rather than a tree: memory stays proportional to the kept records, nesting
costs no Python recursion, and any DOCTYPE is refused outright, so entity-expansion ("billion laughs") and
external-entity tricks never start.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from xml.parsers import expat

from job_run_aggregator.errors import InputError
from job_run_aggregator.model import TestCase
from job_run_aggregator.artifacts.parse.document import check_size

SUITE_SEPARATOR = "|||"
MAX_SUITE_DEPTH = 64
MAX_SUITE_PATH = 64 * 1024  # characters; bounds the joined names a hostile file could multiply per level

_FILE_NAME = re.compile(r"junit[^/]*\.xml\Z")


def is_junit_path(path: str) -> bool:
    """Tell whether an object path under a run is a junit results file."""
    return _FILE_NAME.match(posixpath.basename(path)) is not None


@dataclass(slots=True)
class _Frame:
    kind: str  # "suites" | "suite" | "case"
    name: str = ""  # suite path for suites, test name for cases
    failed: bool = False
    skipped: bool = False


class _Collector:
    """Expat handlers that keep only what TestRuns needs: direct-child semantics, as Go's encoding/xml structs."""

    def __init__(self, path: str, keep_skipped: bool = False) -> None:
        self.path = path
        self.keep_skipped = keep_skipped
        self.stack: list[_Frame] = []
        self.ignored_depth = 0  # > 0 while inside an element nothing is taken from
        self.cases: list[TestCase] = []

    def reject_doctype(self, *_: object) -> None:
        raise InputError("XML with a DOCTYPE is refused (entity expansion risk); junit files have none", self.path)

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        if self.ignored_depth:
            self.ignored_depth += 1
            return
        parent = self.stack[-1].kind if self.stack else None
        if parent is None:
            if tag == "testsuites":
                self.stack.append(_Frame("suites"))
            elif tag == "testsuite":
                self._enter_suite(attributes)
            else:
                raise InputError(f"root element is <{tag[:60]}>, expected <testsuites> or <testsuite>", self.path)
        elif tag == "testsuite" and parent in ("suites", "suite"):
            self._enter_suite(attributes)
        elif tag == "testcase" and parent == "suite":
            self.stack.append(_Frame("case", attributes.get("name", "")))
        elif tag == "failure" and parent == "case":
            self.stack[-1].failed = True
            self.ignored_depth = 1
        elif tag == "skipped" and parent == "case":
            self.stack[-1].skipped = True
            self.ignored_depth = 1
        else:
            self.ignored_depth = 1

    def _enter_suite(self, attributes: dict[str, str]) -> None:
        suites = [frame for frame in self.stack if frame.kind == "suite"]
        if len(suites) >= MAX_SUITE_DEPTH:
            raise InputError(f"testsuite elements nested more than {MAX_SUITE_DEPTH} deep", self.path)
        name = attributes.get("name", "")
        joined = f"{suites[-1].name}{SUITE_SEPARATOR}{name}" if suites else name
        if len(joined) > MAX_SUITE_PATH:
            raise InputError(f"test suite path is {len(joined)} characters, over the {MAX_SUITE_PATH} limit", self.path)
        self.stack.append(_Frame("suite", joined))

    def end(self, _tag: str) -> None:
        if self.ignored_depth:
            self.ignored_depth -= 1
            return
        frame = self.stack.pop()
        if frame.kind == "case" and (self.keep_skipped or not frame.skipped):
            suite = self.stack[-1].name
            status = "Failed" if frame.failed else "Skipped" if frame.skipped else "Passed"
            self.cases.append(TestCase(name=frame.name, suite=suite, status=status))


def parse_junit(data: bytes, path: str, keep_skipped: bool = False) -> list[TestCase]:
    """Parse a junit file into its non-skipped test cases (all, with status "Skipped", with `keep_skipped`).

    The root is `<testsuites>` or a bare `<testsuite>`; nested suites are followed; a case is `Failed` iff it
    has a `<failure>` child (an `<error>` child does not count, as in Go); its suite is the names of its
    ancestor suites joined by `|||`.

    Raises:
        InputError: too big, not well-formed XML, has a DOCTYPE, an unexpected root, or absurd nesting.
    """
    check_size(data, path)
    collector = _Collector(path, keep_skipped)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = collector.reject_doctype
    parser.EntityDeclHandler = collector.reject_doctype
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        reason = expat.ErrorString(error.code) if error.code is not None else str(error)
        raise InputError(
            f"not well-formed XML: {reason} at line {error.lineno}, column {error.offset + 1}", path
        ) from None
    return collector.cases
