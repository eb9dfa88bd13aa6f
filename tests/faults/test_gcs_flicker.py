"""Objects that vanish between a run's listing and its reads (issue 24), through the fault proxy, on fake-gcs-server.

The proxy's `before_forward` hook deletes the object from the real server the moment its download is requested,
so the client lists it and then gets a real 404. The rule: nothing of that run commits, it is read again next
upload, and the tables then equal a fresh ingest of the final bucket. An object that stays listed but unreadable
(the proxy's `not_found`) keeps the run out until `retry_missing_for` has passed; then it is failed (exit 3).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from faults.proxy import FaultProxy
from faults.workspace import BUCKET, GcsServer, cli_env, dump_tables, make_bucket, primed_template, rows_by_run, run_cli
from google.cloud import storage

from job_run_aggregator.artifacts.runs import MISSING_REASON

pytestmark = pytest.mark.emulator

SUMMARY = re.compile(r"upload-all: jobs \d+, runs seen \d+, loaded (\d+), already loaded \d+, unfinished (\d+), "
                     r"failed (\d+);")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_bucket(tmp_path_factory.mktemp("flicker") / "data", jobs=2, days=2, seed=4, malformed=1)


@pytest.fixture
def server(data: tuple[Path, Path]):
    """A fresh fake-gcs-server per test: tests delete objects from it."""
    gcs = GcsServer(data[0])
    gcs.start()
    yield gcs
    gcs.stop()


@pytest.fixture(scope="module")
def primed(data: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return primed_template(tmp_path_factory.mktemp("primed"), data[1])


def _copy(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"duckdb://{target}"


def _upload(url: str, gcs_url: str, **env: str):
    return run_cli("--warehouse", url, "--bucket", f"gs://{BUCKET}", "upload-all", "--workers", "4",
                   env=cli_env(STORAGE_EMULATOR_HOST=gcs_url, JRA_RETRY_BASE_DELAY="0.01",
                               JRA_RETRY_MAX_DELAY="0.05", **env))


def _fresh_ingest(primed: Path, server: GcsServer, tmp_path: Path) -> dict:
    url = _copy(primed, tmp_path / "fresh.duckdb")
    done = _upload(url, server.url)
    assert done.returncode == 0, done.stderr
    return dump_tables(url)


def _counts(stderr: str) -> tuple[int, int, int]:
    match = SUMMARY.search(stderr)
    assert match, stderr
    return int(match[1]), int(match[2]), int(match[3])


def _victim(data: tuple[Path, Path], what: str) -> tuple[str, str, list[str]]:
    """A finished run with cluster-data, alerts and junit files: (job, run id, its objects of kind `what`)."""
    root = data[0] / BUCKET
    for prowjob in sorted(root.glob("logs/*/*/prowjob.json")):
        run = prowjob.parent
        if not json.loads(prowjob.read_bytes())["status"].get("completionTime"):
            continue
        files = {
            "junit": sorted(run.rglob("junit*.xml")),
            "alerts+cluster-data": sorted([*run.rglob("alerts_*.json"), *run.rglob("cluster-data_*.json")]),
            "prowjob": [prowjob],
        }
        if all(files.values()) and json.loads(min(run.rglob("alerts_*.json")).read_bytes())["Alerts"]:
            return run.parent.name, run.name, [p.relative_to(root).as_posix() for p in files[what]]
    raise AssertionError("no run with every kind of file")


class Vanisher:
    """Deletes each object of `paths` from the server when its download is first requested; can put them back."""

    def __init__(self, server: GcsServer, data: Path, paths: list[str]) -> None:
        client = storage.Client.create_anonymous_client()
        client._connection.API_BASE_URL = server.url  # straight to the server, not through the proxy
        self.bucket, self.data, self.deleted = client.bucket(BUCKET), data, []
        self.waiting = {quote(p, safe=""): p for p in paths}

    def __call__(self, method: str, url: str) -> None:
        for quoted, path in list(self.waiting.items()):
            if method == "GET" and quoted in url and "alt=media" in url:
                del self.waiting[quoted]
                self.bucket.blob(path).delete()
                self.deleted.append(path)

    def restore(self) -> None:
        for path in self.deleted:
            self.bucket.blob(path).upload_from_filename(str(self.data / BUCKET / path))


@pytest.mark.parametrize("what", ["junit", "alerts+cluster-data", "prowjob"])
def test_an_object_gone_after_listing_and_back_later_loads_completely_on_the_next_upload(
        data, server, primed, tmp_path, what):
    _, run, paths = _victim(data, what)
    url = _copy(primed, tmp_path / "w.duckdb")
    vanisher = Vanisher(server, data[0], paths)
    with FaultProxy(server.url) as proxy:
        proxy.before_forward = vanisher
        first = _upload(url, proxy.url)
    assert sorted(vanisher.deleted) == sorted(paths)
    assert first.returncode == 0, first.stderr
    tables = dump_tables(url)
    assert run not in {r[0] for r in tables["JobRuns"]}
    by_run = rows_by_run(tables)
    for table in ("TestRuns", "BackendDisruption", "Alerts", "Alerts_JobRuns", "BackendDisruption_JobRuns"):
        assert not by_run.get(table, {}).get(run), table  # none of its rows committed
    missing = [r for r in tables["LoadProblems"] if r[0] == run]
    assert sorted({(r[3], r[4]) for r in missing}) == sorted((p, MISSING_REASON) for p in paths)
    for path in paths:
        assert f"{path}: {MISSING_REASON} (missing since " in first.stderr
    vanisher.restore()  # re-uploaded a few seconds later

    with FaultProxy(server.url) as proxy:
        second = _upload(url, proxy.url)

    assert second.returncode == 0, second.stderr
    assert _counts(second.stderr)[0] == 1  # exactly that run, now complete
    assert dump_tables(url) == _fresh_ingest(primed, server, tmp_path)


def test_an_object_deleted_for_good_after_listing_leaves_the_run_as_the_final_bucket_has_it(
        data, server, primed, tmp_path):
    _, run, paths = _victim(data, "junit")
    url = _copy(primed, tmp_path / "w.duckdb")
    vanisher = Vanisher(server, data[0], paths)
    with FaultProxy(server.url) as proxy:
        proxy.before_forward = vanisher
        first = _upload(url, proxy.url)
    assert first.returncode == 0 and run not in {r[0] for r in dump_tables(url)["JobRuns"]}, first.stderr

    with FaultProxy(server.url) as proxy:
        second = _upload(url, proxy.url)  # the listing no longer shows it: the run is what the bucket now holds

    assert second.returncode == 0, second.stderr
    final = _fresh_ingest(primed, server, tmp_path)
    assert dump_tables(url) == final
    assert not rows_by_run(final)["TestRuns"].get(run)  # its only junit file is gone for good


def test_an_object_listed_but_never_readable_fails_the_run_after_the_retry_period_and_loads_once_readable(
        data, server, primed, tmp_path):
    _, run, paths = _victim(data, "junit")
    url = _copy(primed, tmp_path / "w.duckdb")
    with FaultProxy(server.url) as proxy:
        proxy.not_found = {quote(p, safe="") for p in paths}
        first = _upload(url, proxy.url)
        assert first.returncode == 0, first.stderr
        _, unfinished, failed = _counts(first.stderr)
        assert failed == 0 and unfinished >= 1
        # The retry period is over (0s here, 24h by default): the run is failed, visible, and exit 3.
        second = _upload(url, proxy.url, JRA_RETRY_MISSING_FOR="0s")
    assert second.returncode == 3, second.stderr
    assert _counts(second.stderr) == (0, unfinished - 1, 1)
    assert second.stderr.strip().endswith("error: 1 run(s) failed to load; see the problems above (they are "
                                          "retried next time)")
    assert f"{paths[0]}: {MISSING_REASON} (missing since " in second.stderr
    status = run_cli("--warehouse", url, "status")
    assert "problem(s) recorded in LoadProblems" in status.stderr
    assert run not in {r[0] for r in dump_tables(url)["JobRuns"]}

    with FaultProxy(server.url) as proxy:  # readable again: retried as designed, and complete
        third = _upload(url, proxy.url, JRA_RETRY_MISSING_FOR="0s")
    assert third.returncode == 0, third.stderr
    assert _counts(third.stderr)[0] == 1
    assert dump_tables(url) == _fresh_ingest(primed, server, tmp_path)
