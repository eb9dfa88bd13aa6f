"""Job-name lists: generate one from an openshift/release checkout, read one, plan the Jobs rows (DESIGN §5).

`generate_job_names` reads local files only (the checkout); everything else here is pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.model import Problem
from job_run_aggregator.jobs.variants import DEFAULT_RELEASES, mentions_release, variant_for

HEADER = "// generated using `./job-run-aggregator generate-job-names`"
# The Go tool fetched the files from GitHub and named each section by that URL; we read a checkout but keep the
# same section names so lists stay comparable with the ones it produced.
SOURCE_URL_PREFIX = "https://raw.githubusercontent.com/openshift/release/master/"
RELEASE_CONFIG_DIR = "core-services/release-controller/_releases"
RELEASE_CONFIG_SUFFIXES: tuple[str, ...] = ("", "-ci", "-arm64", "-multi", "-ppc64le", "-s390x")
PERIODICS_DIRS: tuple[str, ...] = (
    "ci-operator/jobs/openshift/release",
    "ci-operator/jobs/openshift/multiarch",
    "ci-operator/jobs/openshift/hypershift",
)
EXCLUDED_PERIODIC_MARKERS: tuple[str, ...] = ("-disruptive", "microshift", "-okd")

# The columns the Job Primer derives from the name; --update rewrites only these, so hand-set columns such as
# CollectDisruption or GCSBucketName survive a re-prime.
DERIVED_COLUMNS: tuple[str, ...] = (
    "GCSJobHistoryLocationPrefix",
    "Platform",
    "Architecture",
    "Network",
    "IPMode",
    "Topology",
    "Release",
    "FromRelease",
    "RunsUpgrade",
    "RunsE2EParallel",
    "RunsE2ESerial",
)


@dataclass(frozen=True, slots=True)
class Section:
    """One source file of a generated list: its name in the output and the job names it yielded."""

    source: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GeneratedNames:
    """A generated job-name list: the file text and the source files that could not be read."""

    sections: tuple[Section, ...]
    problems: tuple[Problem, ...]

    @property
    def text(self) -> str:
        return render_job_names(self.sections)


@dataclass(frozen=True, slots=True)
class ColumnChange:
    column: str
    old: object
    new: object

    def __str__(self) -> str:
        return f"{self.column}: {self.old!r} -> {self.new!r}"


@dataclass(frozen=True, slots=True)
class JobUpdate:
    """A Jobs row whose derived variant changed: the full row to write and what changed."""

    job_name: str
    row: dict[str, object]
    changes: tuple[ColumnChange, ...]


@dataclass(frozen=True, slots=True)
class PrimingPlan:
    """What `prime-job-table` does with each name: insert, leave, rewrite (with --update) or reject."""

    new: tuple[dict[str, object], ...]
    unchanged: tuple[str, ...]
    updated: tuple[JobUpdate, ...]
    rejected: tuple[Problem, ...]

    def summary(self) -> str:
        return (
            f"{len(self.new)} new, {len(self.unchanged)} unchanged, "
            f"{len(self.updated)} updated, {len(self.rejected)} rejected"
        )


def read_job_names(text: str) -> list[str]:
    """Return the names of a job-name file once each, in first-seen order, skipping `//` lines and blanks."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        name = line.strip()
        if name and not name.startswith("//"):
            seen.setdefault(name, None)
    return list(seen)


def render_job_names(sections: Iterable[Section]) -> str:
    """Render sections in the format of the Go tool's output (header, begin/sorted names/end, blank line)."""
    lines = [HEADER, ""]
    for section in sections:
        lines.append(f"// begin {section.source}")
        # Sorted but not de-duplicated within a file, as the Go tool did (a verify map can repeat a job).
        lines.extend(sorted(section.names))
        lines.append(f"// end {section.source}")
        lines.append("")
    return "\n".join(lines) + "\n"


def names_from_release_config(data: object) -> tuple[list[str], list[str]]:
    """Return the `verify.*.prowJob.name` values of a release-controller config, and what was wrong with it."""
    if not isinstance(data, dict):
        return [], [f"expected a JSON object, found {type(data).__name__}"]
    verify = data.get("verify") or {}
    if not isinstance(verify, dict):
        return [], [f'"verify" is a {type(verify).__name__}, expected an object']
    names: list[str] = []
    errors: list[str] = []
    for key, entry in verify.items():
        prow_job = entry.get("prowJob") if isinstance(entry, dict) else None
        name = prow_job.get("name") if isinstance(prow_job, dict) else None
        if isinstance(name, str) and name:
            names.append(name)
        else:
            errors.append(f'"verify.{key}.prowJob.name" missing')
    return names, errors


def names_from_periodics(data: object, releases: Sequence[str]) -> tuple[list[str], list[str]]:
    """Return the `periodics[].name` values that mention `-<release>` and no excluded marker, and any errors."""
    if data is None:
        return [], []
    if not isinstance(data, dict):
        return [], [f"expected a YAML mapping, found {type(data).__name__}"]
    periodics = data.get("periodics") or []
    if not isinstance(periodics, list):
        return [], [f'"periodics" is a {type(periodics).__name__}, expected a list']
    names: list[str] = []
    errors: list[str] = []
    for index, job in enumerate(periodics):
        name = job.get("name") if isinstance(job, dict) else None
        if not isinstance(name, str) or not name:
            errors.append(f'"periodics[{index}].name" missing')
        elif is_kept_periodic(name, releases):
            names.append(name)
    return names, errors


def is_kept_periodic(name: str, releases: Sequence[str]) -> bool:
    """Tell whether a periodic job belongs in the list: it names a known release and is no excluded kind."""
    if any(marker in name for marker in EXCLUDED_PERIODIC_MARKERS):
        return False
    return any(mentions_release(name, release, prefix="-") for release in releases)


def generate_job_names(repo: Path, releases: Sequence[str] = DEFAULT_RELEASES) -> GeneratedNames:
    """Build the job-name list from a local openshift/release checkout.

    Release-controller configs get a section each when present (even with no verify jobs, as in the Go tool's
    output); a periodics file gets one only when it yields a name, since the glob also finds every old
    branch's file. An unreadable file becomes a problem and is left out; the others are still processed.

    Raises:
        ConfigError: `repo` is not an openshift/release checkout.
    """
    root = repo.resolve()
    if not (root / RELEASE_CONFIG_DIR).is_dir() and not any((root / d).is_dir() for d in PERIODICS_DIRS):
        raise ConfigError(
            f"{repo}: not an openshift/release checkout (neither {RELEASE_CONFIG_DIR} "
            f"nor ci-operator/jobs/openshift/{{release,multiarch,hypershift}} found)"
        )
    sections: list[Section] = []
    problems: list[Problem] = []

    config_paths = [
        f"{RELEASE_CONFIG_DIR}/release-ocp-{release}{suffix}.json"
        for release in releases
        for suffix in RELEASE_CONFIG_SUFFIXES
    ]
    for relative in sorted(config_paths, key=_natural_key):
        path = _inside(root, root / relative)
        if path is None or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(Problem(str(repo / relative), f"invalid JSON: {exc}; file skipped"))
            continue
        names, errors = names_from_release_config(data)
        problems.extend(Problem(str(repo / relative), error) for error in errors)
        sections.append(Section(SOURCE_URL_PREFIX + relative, tuple(names)))

    periodic_paths = [
        f"{directory}/{path.name}"
        for directory in PERIODICS_DIRS
        if _inside(root, root / directory) is not None and (root / directory).is_dir()
        for path in (root / directory).glob("*-periodics.yaml")
    ]
    for relative in sorted(periodic_paths, key=_natural_key):
        path = _inside(root, root / relative)
        if path is None or not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(Problem(str(repo / relative), f"invalid YAML: {_yaml_reason(exc)}; file skipped"))
            continue
        names, errors = names_from_periodics(data, releases)
        problems.extend(Problem(str(repo / relative), error) for error in errors)
        if names:
            sections.append(Section(SOURCE_URL_PREFIX + relative, tuple(names)))
    return GeneratedNames(tuple(sections), tuple(problems))


def _inside(root: Path, path: Path) -> Path | None:
    """Resolve `path`, or None when a symlink leads it out of the checkout."""
    resolved = path.resolve()
    return resolved if resolved.is_relative_to(root) else None


def _yaml_reason(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split())


def _natural_key(path: str) -> list[Any]:
    # "release-4.9" before "release-4.10"; on the Go tool's 4.10-4.12 list this equals its plain sort.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def plan_priming(
    names: Sequence[str],
    existing: Mapping[str, Mapping[str, object]],
    releases: Sequence[str] = DEFAULT_RELEASES,
    bucket_name: str = "test-platform-results",
) -> PrimingPlan:
    """Decide for each name whether its Jobs row is new, unchanged, updated or rejected.

    `existing` maps JobName to its current Jobs row. An updated row keeps the existing values of the columns
    not derived from the name (bucket, Collect* flags) and carries the derived ones that changed.
    """
    new: list[dict[str, object]] = []
    unchanged: list[str] = []
    updated: list[JobUpdate] = []
    rejected: list[Problem] = []
    for name in dict.fromkeys(names):
        try:
            row = variant_for(name, releases).jobs_row(bucket_name)
        except InputError as exc:
            rejected.append(Problem(name, exc.reason))
            continue
        current = existing.get(name)
        if current is None:
            new.append(row)
            continue
        changes = tuple(
            ColumnChange(column, current.get(column), row[column])
            for column in DERIVED_COLUMNS
            if current.get(column) != row[column]
        )
        if changes:
            merged = {**row, **{k: v for k, v in current.items() if k in row and k not in DERIVED_COLUMNS}}
            updated.append(JobUpdate(name, merged, changes))
        else:
            unchanged.append(name)
    return PrimingPlan(tuple(new), tuple(unchanged), tuple(updated), tuple(rejected))
