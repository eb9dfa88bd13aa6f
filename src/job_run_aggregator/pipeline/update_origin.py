"""update-origin: the weekly origin update as one step (issue 20).

Reads an openshift/origin checkout, tells its era from where the two query_results.json files live
(`pkg/synthetictests/allowed{backenddisruption,alerts}/` until 2023, `pkg/monitortestlibrary/…` since) and each
file's format from its columns, exports both for the releases the committed files hold (or those given), compares
each release with the committed rows, and when a file changed writes it in place byte for byte, commits both on
a new branch with the markdown report as the commit body, and optionally pushes the branch and opens the pull
request. Nothing is written or committed when nothing changed. A release the warehouse has no rows for keeps the
committed file as it is: an empty export must never wipe origin's data.

Git is driven through the `git` binary with argument lists (never a shell), not a Python git library: it needs no
new dependency, and the checkout's own configuration, hooks and credential helpers apply to the commit and the
push exactly as when a person runs them (GitPython shells out to the same binary anyway; pygit2 would bring
libgit2 and a credential handling of its own). `GIT_TERMINAL_PROMPT=0` makes a push that lacks credentials fail
instead of waiting for a password.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from job_run_aggregator.errors import ConfigError, InputError, JraError
from job_run_aggregator.history.compare import (
    DEFAULT_LEEWAY_PERCENT,
    compare_releases,
    needs_review_any,
    render_releases_markdown,
)
from job_run_aggregator.history.export import releases_of
from job_run_aggregator.history.formats import ALERTS, DISRUPTIONS, FileFormat, format_of_rows, shape_row
from job_run_aggregator.history.percentiles import historical_rows, query_for_format
from job_run_aggregator.history.results_file import read_query_results, render_query_results
from job_run_aggregator.pipeline.github import open_pull_request
from job_run_aggregator.warehouse.base import Warehouse

# Newest era first: a checkout in the middle of the move (both folders) is read where origin reads it now.
ERAS: tuple[tuple[str, str], ...] = (("2023", "pkg/monitortestlibrary"), ("2022", "pkg/synthetictests"))
FOLDERS = {DISRUPTIONS: "allowedbackenddisruption", ALERTS: "allowedalerts"}
FILE_NAME = "query_results.json"
BRANCH_PREFIX = "jra-historical-data-"
# Two reports share one commit message and PR body; GitHub refuses bodies over 65 536 characters.
REPORT_MAX_CHARS = 30_000


@dataclass(frozen=True, slots=True)
class OriginFile:
    """One committed query_results.json: where it is, its format, its releases and its rows."""

    data_type: str
    path: str  # relative to the checkout, '/'-separated
    file_format: FileFormat
    data: bytes
    rows: tuple[Mapping[str, object], ...]

    @property
    def releases(self) -> tuple[str, ...]:
        return releases_of(self.rows)


@dataclass(frozen=True, slots=True)
class OriginLayout:
    era: str  # "2022" (pkg/synthetictests) or "2023" (pkg/monitortestlibrary)
    files: tuple[OriginFile, ...]


@dataclass(frozen=True, slots=True)
class FileUpdate:
    """What the new export of one file is and how it compares with the committed one."""

    origin: OriginFile
    releases: tuple[str, ...]
    data: bytes  # the new file (the committed bytes when the file is kept)
    rows: int
    report: str
    needs_review: bool
    kept_because: str = ""  # why the committed file stays as it is, despite new data

    @property
    def changed(self) -> bool:
        return self.data != self.origin.data


@dataclass(frozen=True, slots=True)
class UpdateOriginOptions:
    origin_dir: Path
    branch: str | None = None
    releases: tuple[str, ...] = ()
    push: str | None = None  # remote name or URL
    open_pr: bool = False
    now: datetime | None = None
    leeway: float = DEFAULT_LEEWAY_PERCENT
    min_job_runs: int | None = None
    base: str | None = None  # the PR's base branch (default: the branch checked out before)
    github_repo: str = "openshift/origin"
    head_owner: str | None = None  # the fork the branch is pushed to (default: the owner in the push URL)
    author: str | None = None  # "Name <email>" for the commit (default: the checkout's git config)


@dataclass(frozen=True, slots=True)
class UpdateOriginResult:
    era: str
    files: tuple[FileUpdate, ...]
    title: str
    body: str
    branch: str | None = None  # None: nothing changed, nothing committed
    commit: str | None = None
    pushed_to: str | None = None
    pr_url: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.files)

    def to_json(self) -> dict[str, object]:
        """The `update-origin --json` object: what each file became and where the commit went."""
        return {
            "era": self.era,
            "changed": self.changed,
            "files": [
                {"path": f.origin.path, "format": f.origin.file_format.name, "releases": list(f.releases),
                 "changed": f.changed, "rows": f.rows, "needs_review": f.needs_review,
                 "kept_because": f.kept_because or None}
                for f in self.files
            ],
            "branch": self.branch,
            "commit": self.commit,
            "pushed_to": self.pushed_to,
            "pr_url": self.pr_url,
            "title": self.title,
        }

    def summary(self) -> str:
        """One line for logs: what changed and where it went."""
        if not self.changed:
            return f"origin ({self.era} layout): nothing changed, nothing committed"
        names = ", ".join(f"{f.origin.path} ({f.rows} rows)" for f in self.files if f.changed)
        line = f"origin ({self.era} layout): committed {names} on {self.branch} as {(self.commit or '')[:12]}"
        if self.pushed_to:
            line += f"; pushed to {self.pushed_to}"
        if self.pr_url:
            line += f"; pull request {self.pr_url}"
        return line


def detect_layout(origin_dir: Path) -> OriginLayout:
    """Find the era's folders in an origin checkout and read both committed files and their formats.

    Raises:
        ConfigError: not a folder, or neither era's pair of files is there.
        InputError: a committed file is not a query_results.json of a known format.
    """
    if not origin_dir.is_dir():
        raise ConfigError(f"--origin-dir {origin_dir}: not a folder; give an openshift/origin checkout")
    for era, base in ERAS:
        paths = {kind: f"{base}/{folder}/{FILE_NAME}" for kind, folder in FOLDERS.items()}
        if all((origin_dir / p).is_file() for p in paths.values()):
            return OriginLayout(era, tuple(_origin_file(origin_dir, kind, p) for kind, p in paths.items()))
    wanted = " or ".join(f"{base}/{{{','.join(FOLDERS.values())}}}/{FILE_NAME}" for _, base in ERAS)
    raise ConfigError(f"--origin-dir {origin_dir}: no {wanted}; is it an openshift/origin checkout?")


def _origin_file(origin_dir: Path, data_type: str, path: str) -> OriginFile:
    if (origin_dir / path).is_symlink():
        raise InputError("is a symbolic link; update-origin writes only regular files inside the checkout", path)
    data = (origin_dir / path).read_bytes()
    rows = read_query_results(data, path)
    file_format = format_of_rows(rows, path)
    if file_format.data_type != data_type:
        raise InputError(f"holds {file_format.data_type} rows (format {file_format.name}), expected {data_type}", path)
    return OriginFile(data_type, path, file_format, data, tuple(rows))


def plan_updates(warehouse: Warehouse, layout: OriginLayout, releases: Sequence[str] = (),
                 now: datetime | None = None, leeway: float = DEFAULT_LEEWAY_PERCENT,
                 min_job_runs: int | None = None) -> tuple[FileUpdate, ...]:
    """Export each committed file's format for its releases (or `releases`) and compare it with the file."""
    return tuple(_plan_file(warehouse, f, tuple(releases) or f.releases, now, leeway, min_job_runs)
                 for f in layout.files)


def _plan_file(warehouse: Warehouse, origin: OriginFile, releases: tuple[str, ...], now: datetime | None,
               leeway: float, min_job_runs: int | None) -> FileUpdate:
    if not releases:
        raise ConfigError(f"{origin.path} holds no rows, so no release to export; pass --release")
    q = query_for_format(origin.file_format, now=now, min_job_runs=min_job_runs)
    wanted = set(releases)
    new_rows = [shape_row(r, origin.file_format) for r in historical_rows(warehouse, q) if r["Release"] in wanted]
    empty = [r for r in releases if not any(row["Release"] == r for row in new_rows)]
    result = compare_releases(origin.rows, new_rows, releases, leeway)
    report = render_releases_markdown(result, max_chars=REPORT_MAX_CHARS)
    if empty:
        reason = f"no new rows for {', '.join(empty)} in the warehouse; the committed file is kept"
        return FileUpdate(origin, releases, origin.data, len(origin.rows), report, False, reason)
    data = render_query_results(list(result.output_rows))
    return FileUpdate(origin, releases, data, len(result.output_rows), report, needs_review_any(result))


def pr_text(layout: OriginLayout, updates: Sequence[FileUpdate], now: datetime) -> tuple[str, str]:
    """The pull request's title and body (also the commit message)."""
    releases = releases_of([{"Release": r} for u in updates for r in u.releases])
    title = f"Update disruption and alert historical data for {', '.join(releases)} ({now:%Y-%m-%d})"
    parts = [(f"Generated by `job-run-aggregator update-origin` on {now:%Y-%m-%d %H:%M} UTC "
              f"({layout.era} layout).\n")]
    for u in updates:
        kind = "Backend disruption" if u.origin.data_type == DISRUPTIONS else "Alerts"
        state = "changed" if u.changed else (f"unchanged: {u.kept_because}" if u.kept_because else "unchanged")
        parts.append(f"\n## {kind}: `{u.origin.path}` (format {u.origin.file_format.name}, {state})\n\n{u.report}")
    return title, "".join(parts)


def update_origin(warehouse: Warehouse, options: UpdateOriginOptions,
                  environ: Mapping[str, str] | None = None) -> UpdateOriginResult:
    """Run the whole update: detect, export, compare, and when something changed write, commit, push, open a PR.

    Raises:
        ConfigError: a bad checkout or option, a dirty data file, an existing branch, a missing GITHUB_TOKEN, or a
            git command that failed (its message included).
        TransientError: GitHub could not be reached.
    """
    env = dict(os.environ if environ is None else environ)
    if options.push is not None:
        _check_name("--push", options.push)
    if options.branch is not None:
        _check_name("--branch", options.branch)
    if options.open_pr and not options.push:
        raise ConfigError("--open-pr needs --push REMOTE: the pull request's branch must be on GitHub first")
    token = env.get("GITHUB_TOKEN", "") if options.open_pr else ""
    if options.open_pr and not token:
        raise ConfigError("--open-pr needs a GitHub token in the GITHUB_TOKEN environment variable")
    git = Git(options.origin_dir, env)
    git.check_repository()
    candidates = [f"{base}/{folder}/{FILE_NAME}" for _, base in ERAS for folder in FOLDERS.values()]
    dirty = git.run("status", "--porcelain", "--", *candidates).strip()
    if dirty:
        raise ConfigError(f"{options.origin_dir}: uncommitted changes to the data files ({dirty.splitlines()[0]}"
                          "…); commit or discard them first")
    layout = detect_layout(options.origin_dir)
    paths = [f.path for f in layout.files]
    now = options.now or datetime.now(UTC)
    updates = plan_updates(warehouse, layout, options.releases, now, options.leeway, options.min_job_runs)
    title, body = pr_text(layout, updates, now)
    notes = tuple(f"{u.origin.path}: {u.kept_because}" for u in updates if u.kept_because)
    if not any(u.changed for u in updates):
        return UpdateOriginResult(layout.era, updates, title, body, notes=notes)

    before = git.current_branch() if options.base is None else git.position()
    base = options.base or before
    branch = options.branch or f"{BRANCH_PREFIX}{now:%Y-%m-%d}"
    _check_name("--branch", branch)
    git.run("check-ref-format", "--branch", branch)
    if git.run("branch", "--list", branch).strip():
        raise ConfigError(f"branch {branch} already exists in {options.origin_dir}; pass another --branch")
    git.run("switch", "--quiet", "-c", branch)
    try:
        for u in updates:
            if u.changed:
                _write_atomically(options.origin_dir / u.origin.path, u.data)
        git.run("add", "--", *paths)
        identity: list[str] = []
        if options.author:
            name, _, email = options.author.partition("<")
            identity = ["-c", f"user.name={name.strip()}", "-c", f"user.email={email.rstrip('>').strip()}"]
        # "whitespace", not a configured "strip": strip would drop the report's "## …" headings as comment lines.
        git.run(*identity, "commit", "--quiet", "--cleanup=whitespace", "--file", "-", stdin=f"{title}\n\n{body}")
    except BaseException:
        # Nothing half-done stays behind: the data files as committed, the branch checked out before, no new branch.
        _abandon(git, paths, before, branch)
        raise
    commit = git.run("rev-parse", "HEAD").strip()
    pushed_to = pr_url = None
    if options.push:
        try:
            git.run("push", "--quiet", options.push, f"refs/heads/{branch}:refs/heads/{branch}")
        except ConfigError as error:
            raise ConfigError(f"{error}; the commit is on branch {branch}: push it again with "
                              f"git -C {options.origin_dir} push {options.push} {branch}") from None
        pushed_to = options.push
    if options.open_pr and options.push:
        remotes = git.run("remote").split()
        push_url = git.run("remote", "get-url", options.push).strip() if options.push in remotes else options.push
        owner = options.head_owner or _github_owner(push_url)
        base_owner = options.github_repo.split("/")[0]
        head = f"{owner}:{branch}" if owner and owner != base_owner else branch
        try:
            pr_url = open_pull_request(options.github_repo, title, body, head, base, token,
                                       env.get("JRA_GITHUB_API_URL") or None)
        except JraError as error:
            raise type(error)(f"{error}; branch {branch} is pushed to {options.push}: open the pull request from "
                              "it by hand") from None
    return UpdateOriginResult(layout.era, updates, title, body, branch, commit, pushed_to, pr_url, notes)


def scheduled_update(warehouse: Warehouse, options: UpdateOriginOptions, every: timedelta, now: datetime,
                     environ: Mapping[str, str] | None = None) -> str:
    """Run update-origin when the last one (its newest branch) is at least `every` old; return the summary line.

    The checkout goes back to the branch it was on afterwards, so next period's branch starts from it again.
    """
    last = last_update(options.origin_dir, environ)
    if last is not None and now - last < every:
        return f"not due: last update {last:%Y-%m-%d %H:%M} UTC, next after {last + every:%Y-%m-%d %H:%M} UTC"
    git = Git(options.origin_dir, dict(os.environ if environ is None else environ))
    git.check_repository()
    before = git.current_branch()
    try:
        result = update_origin(warehouse, replace(options, now=now, base=options.base or before), environ)
    except BaseException:
        # A push or pull request that failed after the commit: drop the branch, so the next period does it all
        # again instead of finding a fresh branch and calling the update done.
        current = git.position()
        if current != before:
            _abandon(git, [], before, current)
        raise
    if result.branch:
        git.run("switch", "--quiet", before)
    return result.summary()


def _abandon(git: Git, paths: Sequence[str], before: str, branch: str) -> None:
    """Put the checkout back as it was: data files restored, `before` checked out, `branch` deleted."""
    if paths:
        git.run("reset", "--quiet", "--", *paths)
        git.run("checkout", "--", *paths)
    git.switch_back(before)
    git.run("branch", "--quiet", "-D", branch)


def _check_name(option: str, value: str) -> None:
    """Refuse a value git would read as an option."""
    if not value or value.startswith("-"):
        raise ConfigError(f"{option} {value!r}: must not be empty or start with '-'")


def last_update(origin_dir: Path, environ: Mapping[str, str] | None = None) -> datetime | None:
    """When update-origin last committed in this checkout (its newest branch's commit time), or None."""
    git = Git(origin_dir, dict(os.environ if environ is None else environ))
    out = git.run("for-each-ref", "--sort=-committerdate", "--count=1", "--format=%(committerdate:iso-strict)",
                  f"refs/heads/{BRANCH_PREFIX}*").strip()
    return datetime.fromisoformat(out).astimezone(UTC) if out else None


class Git:
    """The `git` binary in one checkout; every failure becomes a ConfigError carrying git's own message."""

    def __init__(self, directory: Path, environ: Mapping[str, str]) -> None:
        self.directory = directory
        self.env = {**environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}

    def run(self, *args: str, stdin: str | None = None) -> str:
        command = ["git", "-C", str(self.directory), *args]
        try:
            done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=self.env, check=False,
                                  timeout=600)
        except FileNotFoundError:
            raise ConfigError("the git command is not installed (update-origin runs git)") from None
        except subprocess.TimeoutExpired:
            raise ConfigError(f"git {_verb(args)} in {self.directory} did not finish within 10 minutes") from None
        if done.returncode != 0:
            message = (done.stderr.strip() or done.stdout.strip()).splitlines()
            detail = message[-1] if message else done.returncode
            raise ConfigError(f"git {_verb(args)} failed in {self.directory}: {detail}")
        return done.stdout

    def check_repository(self) -> None:
        if not self.directory.is_dir():
            raise ConfigError(f"--origin-dir {self.directory}: not a folder; give an openshift/origin checkout")
        self.run("rev-parse", "--is-inside-work-tree")

    def position(self) -> str:
        """The branch checked out, or the commit of a detached HEAD."""
        name = self.run("rev-parse", "--abbrev-ref", "HEAD").strip()
        return self.run("rev-parse", "HEAD").strip() if name == "HEAD" else name

    def switch_back(self, position: str) -> None:
        """Check out `position` (a branch, or the commit of a detached HEAD); other files' uncommitted changes
        come along, as git carries them."""
        is_branch = bool(self.run("branch", "--list", position).strip())
        self.run("switch", "--quiet", *(() if is_branch else ("--detach",)), position)

    def current_branch(self) -> str:
        name = self.run("rev-parse", "--abbrev-ref", "HEAD").strip()
        if name == "HEAD":
            raise ConfigError(f"{self.directory} is on a detached HEAD; check out the base branch or pass --base")
        return name


def _verb(args: Sequence[str]) -> str:
    return next((a for a in args if not a.startswith("-") and "=" not in a), "")


def _github_owner(url: str) -> str | None:
    """The owner in a GitHub remote URL (https://github.com/o/r.git, git@github.com:o/r.git), else None."""
    for marker in ("github.com/", "github.com:"):
        if marker in url:
            return url.split(marker, 1)[1].split("/", 1)[0] or None
    return None


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
