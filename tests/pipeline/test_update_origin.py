"""update-origin against origin-shaped git checkouts of both eras, a local bare remote and a local fake GitHub."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.history.formats import FORMATS, format_of_rows
from job_run_aggregator.history.results_file import read_query_results, render_query_results
from job_run_aggregator.pipeline.demo import run_demo
from job_run_aggregator.pipeline.update_origin import last_update

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-28T12:00:00"
BRANCH = "jra-historical-data-2026-11-28"
TOKEN = "ghp_secret-token-never-printed-0123456789"
ERAS = {
    "2022": ("pkg/synthetictests", "v1", "a1"),
    "2023": ("pkg/monitortestlibrary", "v3", "a4"),
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def placeholder(format_name: str, release: str = "4.14") -> bytes:
    """A committed file of one row in `format_name` (values that the new export will replace)."""
    columns = FORMATS[format_name].columns
    row: dict[str, Any] = dict.fromkeys(columns, "")
    row.update({columns[0]: "old-name", "Release": release, "Platform": "aws", "Architecture": "amd64",
                "Network": "ovn", "Topology": "ha", "JobRuns": 500, "P95": "1.0", "P99": "2.0"})
    for column in ("P75", "P50"):
        if column in row:
            row[column] = "0.5"
    if "FirstObserved" in row:
        row.update({"AlertNamespace": "openshift-etcd", "AlertLevel": "Warning",
                    "FirstObserved": "2024-06-07T05:02:06Z", "LastObserved": "2024-06-07T05:02:06Z"})
    if "MasterNodesUpdated" in row:
        row["MasterNodesUpdated"] = "N"
    return render_query_results([row])


def origin_checkout(root: Path, era: str, release: str = "4.14") -> Path:
    """A fresh git repository laid out like openshift/origin in `era`, both files committed on main."""
    base, backend_format, alerts_format = ERAS[era]
    repo = root / f"origin-{era}"
    for folder, fmt in (("allowedbackenddisruption", backend_format), ("allowedalerts", alerts_format)):
        (repo / base / folder).mkdir(parents=True)
        (repo / base / folder / "query_results.json").write_bytes(placeholder(fmt, release))
    (repo / "README.md").write_text("origin\n")
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "config", "commit.cleanup", "strip")  # a person's setting that must not eat the report's headings
    git(repo, "config", "user.name", "Origin Tester")
    git(repo, "config", "user.email", "tester@example.com")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "initial")
    return repo


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Sample data for 4.14 loaded into DuckDB (the demo's pipeline)."""
    result = run_demo(tmp_path_factory.mktemp("demo"), jobs=4, days=5, now=NOW, workers=2)
    return f"duckdb:///{result.warehouse}"


def run(warehouse: str, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["--warehouse", warehouse, "update-origin", "--now", NOW_TEXT,
                                    "--min-job-runs", "1", *args], env=env)


@pytest.mark.parametrize("era", ["2022", "2023"])
def test_update_commits_both_files_in_the_eras_paths_and_formats_then_nothing(
        sample_warehouse: str, tmp_path: Path, era: str) -> None:
    repo = origin_checkout(tmp_path, era)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    first = run(sample_warehouse, "--origin-dir", str(repo), "--push", str(remote))
    assert first.exit_code == 0, first.output

    base, backend_format, alerts_format = ERAS[era]
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == BRANCH
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == [f"{base}/allowedalerts/query_results.json",
                               f"{base}/allowedbackenddisruption/query_results.json"]
    for folder, fmt in (("allowedbackenddisruption", backend_format), ("allowedalerts", alerts_format)):
        path = repo / base / folder / "query_results.json"
        data = path.read_bytes()
        rows = read_query_results(data, str(path))
        assert format_of_rows(rows, str(path)).name == fmt
        assert {r["Release"] for r in rows} == {"4.14"} and len(rows) > 1
        assert render_query_results(rows) == data and not data.endswith(b"\n")  # origin's bytes

    message = git(repo, "log", "-1", "--format=%B")
    title = "Update disruption and alert historical data for 4.14 (2026-11-28)"
    assert message.startswith(title + "\n\nGenerated by `job-run-aggregator update-origin`")
    assert "**Backend disruption** historical data for **4.14**" in message
    assert f"\n## Alerts: `{base}/allowedalerts/query_results.json` (format {alerts_format}, changed)\n" in message
    assert "**Alert** historical data for **4.14**" in message
    assert first.stdout.startswith(title + "\n\n")  # the PR title and body are printed
    head = git(repo, "rev-parse", "HEAD").strip()
    assert git(remote, "rev-parse", f"refs/heads/{BRANCH}").strip() == head  # --push reached the bare remote
    assert git(repo, "log", "--format=%an <%ae>", "-1").strip() == "Origin Tester <tester@example.com>"
    assert last_update(repo) is not None

    second = run(sample_warehouse, "--origin-dir", str(repo))
    assert second.exit_code == 0, second.output
    assert "nothing changed, nothing committed" in second.stderr
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "branch", "--list", "--format=%(refname:short)").split() == [BRANCH, "main"]
    assert git(repo, "status", "--porcelain") == ""


class FakeGitHub(BaseHTTPRequestHandler):
    """Records every request; answers like GitHub's create-pull-request endpoint (or with `status`)."""

    requests: ClassVar[list[dict[str, Any]]] = []
    status = 201

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        if self.status == 201:
            answer = {"html_url": "https://github.com/openshift/origin/pull/4242", "number": 4242}
        else:
            answer = {"message": "Validation Failed", "errors": [{"message": "A pull request already exists"}]}
        data = json.dumps(answer).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def github() -> Iterator[tuple[str, type[FakeGitHub]]]:
    handler = type("Recorder", (FakeGitHub,), {"requests": [], "status": 201})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v3", handler
    finally:
        server.shutdown()
        server.server_close()


def test_open_pr_posts_to_github_with_the_token_never_printed(sample_warehouse: str, tmp_path: Path,
                                                             github: tuple[str, type[FakeGitHub]]) -> None:
    url, handler = github
    repo = origin_checkout(tmp_path, "2023")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    git(repo, "remote", "add", "fork", "https://github.com/jra-bot/origin.git")
    git(repo, "config", "remote.fork.pushurl", str(remote))  # pushes go to the local bare repository
    result = run(sample_warehouse, "--origin-dir", str(repo), "--push", "fork", "--open-pr",
                 "--author", "JRA Bot <bot@example.com>",
                 env={"GITHUB_TOKEN": TOKEN, "JRA_GITHUB_API_URL": url})
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    (request,) = handler.requests
    assert request["path"] == "/api/v3/repos/openshift/origin/pulls"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Accept"] == "application/vnd.github+json"
    sent = request["json"]
    assert sent["head"] == f"jra-bot:{BRANCH}" and sent["base"] == "main"
    assert sent["title"] == "Update disruption and alert historical data for 4.14 (2026-11-28)"
    assert sent["body"].strip() == git(repo, "log", "-1", "--format=%b").strip()
    assert "pull request https://github.com/openshift/origin/pull/4242" in result.stderr
    assert git(repo, "log", "--format=%an <%ae>", "-1").strip() == "JRA Bot <bot@example.com>"


def test_github_refusal_is_one_line_without_the_token(sample_warehouse: str, tmp_path: Path,
                                                      github: tuple[str, type[FakeGitHub]]) -> None:
    url, handler = github
    handler.status = 422
    repo = origin_checkout(tmp_path, "2023")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    result = run(sample_warehouse, "--origin-dir", str(repo), "--push", str(remote), "--open-pr",
                 env={"GITHUB_TOKEN": TOKEN, "JRA_GITHUB_API_URL": url})
    assert result.exit_code == 2, result.output
    assert ("error: GitHub refused to open the pull request on openshift/origin (422 Unprocessable Entity: "
            "Validation Failed (A pull request already exists))") in result.stderr
    assert TOKEN not in result.output


@pytest.mark.parametrize(
    ("prepare", "args", "env", "message"),
    [
        pytest.param(None, ["--open-pr", "--push", "origin"], {"GITHUB_TOKEN": ""},
                     "error: --open-pr needs a GitHub token in the GITHUB_TOKEN environment variable",
                     id="no-token"),
        pytest.param(None, ["--open-pr"], {"GITHUB_TOKEN": TOKEN},
                     "error: --open-pr needs --push REMOTE: the pull request's branch must be on GitHub first",
                     id="open-pr-without-push"),
        pytest.param("dirty", [], None, "uncommitted changes to the data files", id="dirty-data-file"),
        pytest.param("branch", [], None, f"error: branch {BRANCH} already exists in", id="branch-exists"),
        pytest.param("empty-dir", [], None, "no pkg/monitortestlibrary/{allowedbackenddisruption,allowedalerts}/"
                     "query_results.json or pkg/synthetictests/", id="not-origin"),
    ],
)
def test_refusals(sample_warehouse: str, tmp_path: Path, prepare: str | None, args: list[str],
                  env: dict[str, str] | None, message: str) -> None:
    repo = origin_checkout(tmp_path, "2023")
    if prepare == "dirty":
        (repo / "pkg/monitortestlibrary/allowedalerts/query_results.json").write_text("[]")
    elif prepare == "branch":
        git(repo, "branch", BRANCH)
    elif prepare == "empty-dir":
        git(repo, "rm", "--quiet", "-r", "pkg")
        git(repo, "commit", "--quiet", "-m", "gone")
    head = git(repo, "rev-parse", "HEAD")
    result = run(sample_warehouse, "--origin-dir", str(repo), *args, env=env)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head  # nothing committed


def test_a_release_without_new_rows_keeps_the_committed_file(sample_warehouse: str, tmp_path: Path) -> None:
    repo = origin_checkout(tmp_path, "2022", release="4.9")  # the sample data has no 4.9 runs
    before = (repo / "pkg/synthetictests/allowedbackenddisruption/query_results.json").read_bytes()
    result = run(sample_warehouse, "--origin-dir", str(repo))
    assert result.exit_code == 0, result.output
    assert "warning: pkg/synthetictests/allowedbackenddisruption/query_results.json: no new rows for 4.9 in the " \
           "warehouse; the committed file is kept" in result.stderr
    assert "nothing changed, nothing committed" in result.stderr
    assert (repo / "pkg/synthetictests/allowedbackenddisruption/query_results.json").read_bytes() == before


def test_release_option_writes_those_releases(sample_warehouse: str, tmp_path: Path) -> None:
    repo = origin_checkout(tmp_path, "2023", release="4.13")
    result = run(sample_warehouse, "--origin-dir", str(repo), "--release", "4.14", "--branch", "weekly")
    assert result.exit_code == 0, result.output
    rows = read_query_results((repo / "pkg/monitortestlibrary/allowedalerts/query_results.json").read_bytes(), "a")
    assert {r["Release"] for r in rows} == {"4.14"}
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "weekly"
    assert "Release switch: the new 4.14 rows are compared with the current 4.13 rows" in result.stdout


def test_the_scheduler_updates_origin_when_due_and_returns_to_the_base_branch(sample_warehouse: str,
                                                                              tmp_path: Path) -> None:
    from datetime import timedelta

    from job_run_aggregator.pipeline.schedule import UPDATE_ORIGIN, CycleConfig, run_cycle
    from job_run_aggregator.pipeline.update_origin import UpdateOriginOptions
    from job_run_aggregator.warehouse.base import open_warehouse

    repo = origin_checkout(tmp_path, "2022")
    config = CycleConfig(steps=(UPDATE_ORIGIN,), origin=UpdateOriginOptions(repo, min_job_runs=1),
                         update_origin_every=timedelta(days=7))
    wh = open_warehouse(sample_warehouse)
    try:
        first = run_cycle(None, wh, config, now=lambda: NOW)  # type: ignore[arg-type]  # no upload step
        # The branch's commit time is the real clock's: "due" is measured from it.
        later = run_cycle(None, wh, config, now=lambda: datetime.now(UTC))  # type: ignore[arg-type]
    finally:
        wh.close()
    (step,) = first.steps
    assert step.ok and "committed" in step.summary and BRANCH in step.summary, step
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(repo, "rev-parse", BRANCH) != git(repo, "rev-parse", "main")
    (again,) = later.steps
    assert again.ok and again.summary.startswith("not due: last update "), again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--branch", "--delete"], "error: --branch '--delete': must not be empty or start with '-'",
                     id="branch-as-option"),
        pytest.param(["--push", "--mirror"], "error: --push '--mirror': must not be empty or start with '-'",
                     id="push-as-option"),
        pytest.param(["--branch", "a..b"], "error: git check-ref-format failed in", id="bad-ref-name"),
    ],
)
def test_hostile_names_never_reach_git_as_options(sample_warehouse: str, tmp_path: Path, args: list[str],
                                                  message: str) -> None:
    repo = origin_checkout(tmp_path, "2023")
    head = git(repo, "rev-parse", "HEAD")
    result = run(sample_warehouse, "--origin-dir", str(repo), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--list", "--format=%(refname:short)").split() == ["main"]


def test_a_symlinked_data_file_is_refused(sample_warehouse: str, tmp_path: Path) -> None:
    repo = origin_checkout(tmp_path, "2023")
    outside = tmp_path / "elsewhere.json"
    target = repo / "pkg/monitortestlibrary/allowedalerts/query_results.json"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "link")
    result = run(sample_warehouse, "--origin-dir", str(repo))
    assert result.exit_code == 3, result.output
    assert ("error: pkg/monitortestlibrary/allowedalerts/query_results.json: is a symbolic link; update-origin "
            "writes only regular files inside the checkout") in result.stderr
    assert outside.read_bytes() == placeholder("a4")


def test_a_failed_push_keeps_the_commit_by_hand_and_the_scheduler_retries_from_scratch(
        sample_warehouse: str, tmp_path: Path) -> None:
    from datetime import timedelta

    from job_run_aggregator.pipeline.schedule import UPDATE_ORIGIN, CycleConfig, run_cycle
    from job_run_aggregator.pipeline.update_origin import UpdateOriginOptions
    from job_run_aggregator.warehouse.base import open_warehouse

    missing = tmp_path / "no-such-remote.git"
    by_hand = origin_checkout(tmp_path / "hand", "2022")
    result = run(sample_warehouse, "--origin-dir", str(by_hand), "--push", str(missing))
    assert result.exit_code == 2, result.output
    assert f"; the commit is on branch {BRANCH}: push it again with git -C {by_hand} push {missing} {BRANCH}" \
        in result.stderr
    assert git(by_hand, "rev-parse", "--abbrev-ref", "HEAD").strip() == BRANCH

    scheduled = origin_checkout(tmp_path / "scheduled", "2022")
    (scheduled / "notes.txt").write_text("a person's uncommitted work\n")
    config = CycleConfig(steps=(UPDATE_ORIGIN,), update_origin_every=timedelta(days=7),
                         origin=UpdateOriginOptions(scheduled, min_job_runs=1, push=str(missing)))
    wh = open_warehouse(sample_warehouse)
    try:
        (step,) = run_cycle(None, wh, config, now=lambda: NOW).steps  # type: ignore[arg-type]
    finally:
        wh.close()
    assert not step.ok and "git push failed" in step.summary
    assert git(scheduled, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(scheduled, "branch", "--list", "--format=%(refname:short)").split() == ["main"]
    assert last_update(scheduled) is None  # due again next cycle
    assert (scheduled / "notes.txt").read_text() == "a person's uncommitted work\n"
    assert git(scheduled, "status", "--porcelain").strip() == "?? notes.txt"


def test_a_failed_commit_leaves_the_checkout_as_it_was(sample_warehouse: str, tmp_path: Path) -> None:
    repo = origin_checkout(tmp_path, "2023")
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    git(repo, "config", "user.useConfigOnly", "true")  # no identity: git refuses to commit
    committed = {p: p.read_bytes() for p in repo.glob("pkg/*/*/query_results.json")}
    result = run(sample_warehouse, "--origin-dir", str(repo),
                 env={"GIT_CONFIG_GLOBAL": str(tmp_path / "none"), "GIT_CONFIG_NOSYSTEM": "1", "EMAIL": None})
    assert result.exit_code == 2, result.output
    assert "error: git commit failed in" in result.stderr
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(repo, "branch", "--list", "--format=%(refname:short)").split() == ["main"]
    assert git(repo, "status", "--porcelain") == ""
    assert {p: p.read_bytes() for p in committed} == committed


def test_json_summary_and_an_unreachable_github(sample_warehouse: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as closed:  # a free port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    repo = origin_checkout(tmp_path, "2023")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    result = run(sample_warehouse, "--origin-dir", str(repo), "--push", str(remote), "--open-pr", "--json",
                 env={"GITHUB_TOKEN": TOKEN, "JRA_GITHUB_API_URL": f"http://127.0.0.1:{port}"})
    assert result.exit_code == 75, result.output
    assert f"error: GitHub API at http://127.0.0.1:{port} not reachable" in result.stderr
    assert f"; branch {BRANCH} is pushed to {remote}: open the pull request from it by hand" in result.stderr
    assert TOKEN not in result.output
    assert git(remote, "rev-parse", f"refs/heads/{BRANCH}").strip() == git(repo, "rev-parse", "HEAD").strip()

    again = origin_checkout(tmp_path / "again", "2022")
    summary = run(sample_warehouse, "--origin-dir", str(again), "--json")
    assert summary.exit_code == 0, summary.output
    data = json.loads(summary.stdout)
    assert data["era"] == "2022" and data["changed"] is True and data["branch"] == BRANCH
    assert [(f["path"], f["format"], f["releases"], f["changed"]) for f in data["files"]] == [
        ("pkg/synthetictests/allowedbackenddisruption/query_results.json", "v1", ["4.14"], True),
        ("pkg/synthetictests/allowedalerts/query_results.json", "a1", ["4.14"], True),
    ]
    assert data["commit"] == git(again, "rev-parse", "HEAD").strip() and data["pr_url"] is None
