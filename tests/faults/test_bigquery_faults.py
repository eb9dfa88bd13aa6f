"""BigQuery under a bad network and under its own refusals (issues 23, 21, 24): retried, bounded, one line, exact.

The fault proxy (faults/proxy.py) sits between google-cloud-bigquery and the real bqemulator; `upload-all` reads a
local sample bucket and writes through it. Every test compares with a fault-free upload of the same bucket into
another dataset: tables row for row, and the summary's row counts (a MERGE whose answer was lost must not count as
0 rows when its retry finds the rows already in).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from faults.proxy import FaultProxy
from faults.workspace import LOAD_TIME_COLUMNS, cli_env, make_bucket, run_cli

from job_run_aggregator.warehouse.base import open_warehouse
from job_run_aggregator.warehouse.bigquery import STAGING_TTL, BigQueryWarehouse, bigquery
from job_run_aggregator.warehouse.schema import TABLES

pytestmark = pytest.mark.emulator

# Batches of 10 runs (39 runs: 4 commits), so a fault can land between two commits of one upload.
FAST = {"JRA_RETRY_BASE_DELAY": "0.01", "JRA_RETRY_MAX_DELAY": "0.05", "JRA_BATCH_RUNS": "10"}
SUMMARY = re.compile(r"upload-all: jobs \d+, runs seen \d+, loaded (\d+), .* failed (\d+); rows loaded: (.*); "
                     r"problems \d+; BigQuery jobs (\d+)")
ERROR_TAIL = (r"; (no run was committed before it|\d+ run\(s\) \(\d+ rows; \d+ job\(s\) complete\) were committed "
              r"before it and stay loaded), nothing partial; re-run when the service is back, or let the next scheduled "
              r"upload .*")


def is_job_insert(method: str, path: str) -> bool:
    """jobs.insert: a query (MERGE, SELECT) or a load's upload."""
    return method == "POST" and path.split("?")[0].endswith("/jobs")


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A local bucket (3 jobs x 2 days, 1 malformed file) and its job-name file."""
    root, names = make_bucket(tmp_path_factory.mktemp("bq") / "data", jobs=3, days=2, malformed=1)
    return root / "test-platform-results", names


def fresh_dataset(bigquery_emulator: str, names: Path) -> str:
    """A new dataset with the tables and the Jobs rows (written straight to the emulator)."""
    url = f"bigquery://test-project/f_{uuid.uuid4().hex[:10]}"
    env = cli_env(BIGQUERY_EMULATOR_HOST=bigquery_emulator)
    for args in (("create-tables",), ("prime-job-table", "--job-names-file", str(names))):
        done = run_cli("--warehouse", url, *args, env=env)
        assert done.returncode == 0, done.stderr
    return url


def upload(url: str, endpoint: str, bucket: Path, *options: str, timeout: float = 120, **env: str):
    return run_cli("--warehouse", url, "--bucket", str(bucket), "upload-all", *options,
                   env=cli_env(BIGQUERY_EMULATOR_HOST=endpoint, **{**FAST, **env}), timeout=timeout)


def dump(url: str) -> dict[str, list[tuple]]:
    wh = open_warehouse(url)
    try:
        out = {}
        for t in TABLES:
            cols = [c.name for c in t.columns if c.name not in LOAD_TIME_COLUMNS]
            rows = wh.query(f"SELECT {', '.join(cols)} FROM {t.name}")
            out[t.name] = sorted((tuple(r[c] for c in cols) for r in rows), key=repr)
        return out
    finally:
        wh.close()


def staging_tables(url: str) -> list:
    wh = open_warehouse(url)
    try:
        project, dataset = url.removeprefix("bigquery://").split("/")
        return [t for t in wh.client.list_tables(f"{project}.{dataset}") if t.table_id.startswith("_staging_")]
    finally:
        wh.close()


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture(scope="module")
def clean(bigquery_emulator: str, bucket: tuple[Path, Path]) -> tuple[dict, dict[str, str], int]:
    """Tables, summary row counts and BigQuery job count of one fault-free upload (through the proxy at rate 0)."""
    url = fresh_dataset(bigquery_emulator, bucket[1])
    with FaultProxy(bigquery_emulator) as proxy:
        done = upload(url, proxy.url, bucket[0], "--json")
    assert done.returncode == 0, done.stderr
    summary = SUMMARY.search(done.stderr)
    assert summary, done.stderr
    # The BigQuery jobs the summary counts are the job insertions BigQuery received; --json says the same.
    inserts = sum(1 for method, path, _ in proxy.log if is_job_insert(method, path))
    assert int(summary.group(4)) == inserts > 0
    as_json = json.loads(done.stdout.strip().splitlines()[-1])
    assert as_json["bigquery_jobs"] == inserts and as_json["loaded"] == int(summary.group(1))
    assert ", ".join(f"{t} {n}" for t, n in sorted(as_json["rows"].items())) == summary.group(3)
    tables = dump(url)
    assert tables["JobRuns"] and tables["TestRuns"] and tables["Alerts"] and tables["LoadProblems"]
    assert staging_tables(url) == []
    return tables, summary.group(3), proxy.requests


def test_answers_cut_reset_or_refused_are_retried_and_tables_and_counts_match(bigquery_emulator, bucket, clean):
    url = fresh_dataset(bigquery_emulator, bucket[1])
    tables, rows, _ = clean
    kinds = ("cut", "short", "reset", "500", "503", "429")
    with FaultProxy(bigquery_emulator, rate=0.15, seed=5, kinds=kinds, streak=2) as proxy:
        done = upload(url, proxy.url, bucket[0], JRA_RETRY_ATTEMPTS="8")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    # Answers to job insertions were lost after the job ran (a MERGE executed, its answer cut): the retry must
    # find that job, not run a second MERGE that inserts nothing.
    lost = [k for m, p, k in proxy.log if k in ("cut", "short") and is_job_insert(m, p)]
    assert len(lost) >= 2, proxy.log
    assert proxy.faults >= 0.1 * proxy.requests, (proxy.injected, proxy.requests)
    assert dump(url) == tables
    assert SUMMARY.search(done.stderr).group(3) == rows, done.stderr
    assert staging_tables(url) == []


def test_rate_limits_and_concurrent_updates_are_retried_with_backoff(bigquery_emulator, bucket, clean):
    url = fresh_dataset(bigquery_emulator, bucket[1])
    tables, rows, _ = clean
    with FaultProxy(bigquery_emulator, rate=0.5, seed=2, kinds=("ratelimit", "concurrent"), streak=2,
                    match=is_job_insert) as proxy:
        done = upload(url, proxy.url, bucket[0], JRA_RETRY_ATTEMPTS="8")
    assert done.returncode == 0, done.stderr
    assert proxy.injected["ratelimit"] >= 3 and proxy.injected["concurrent"] >= 3, proxy.injected
    assert ("BigQuery is busy (Exceeded rate limits: too many table update operations for this table. For more "
            "information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas)") in done.stderr
    assert "BigQuery is busy (Could not serialize access to table" in done.stderr
    assert dump(url) == tables
    assert SUMMARY.search(done.stderr).group(3) == rows


def test_answers_cut_short_every_time_end_in_one_line_and_exit_75(bigquery_emulator, bucket):
    url = fresh_dataset(bigquery_emulator, bucket[1])
    with FaultProxy(bigquery_emulator, rate=1.0, kinds=("short",), match=is_job_insert) as proxy:
        done = upload(url, proxy.url, bucket[0], JRA_RETRY_ATTEMPTS="3")
    assert done.returncode == 75, done.stderr
    line = one_error_line(done.stderr)
    assert re.fullmatch(rf"error: {url}: query: BigQuery's answer was cut short \(not valid JSON\) "
                        rf"\(gave up after 3 attempts\){ERROR_TAIL}", line), line
    assert proxy.injected == {"short": 3}


def test_a_killed_bigquery_fails_within_budget_says_what_was_committed_and_a_rerun_completes(
        bigquery_emulator, bucket, clean):
    url = fresh_dataset(bigquery_emulator, bucket[1])
    tables, _, _ = clean
    markers = (b".JobRuns`", b".BackendDisruption_JobRuns`", b".Alerts_JobRuns`")
    with FaultProxy(bigquery_emulator, record=True) as proxy:
        # As the emulator being killed mid-upload (new connections refused, open ones reset), at the second batch's
        # first staging load: the first batch is committed (its three marker tables, merged last, are MERGEd).
        def kill_after_first_batch(n: int) -> None:
            method, path, _ = proxy.bodies[-1]
            merged = [body for m, _, body in proxy.bodies[:-1] if m == "POST" and b"MERGE" in body]
            if (not proxy.killed and method == "POST" and path.startswith("/upload/")
                    and all(any(m in body for body in merged) for m in markers)):
                proxy.killed = True
                threading.Thread(target=proxy.kill).start()

        proxy.on_request = kill_after_first_batch
        began = time.monotonic()
        # Unbounded (the client's own retry: 10 minutes per call), this outlives the 120 s limit. Batches of 10
        # runs, so that some are committed before the kill (one batch would hold the whole small cycle).
        done = upload(url, proxy.url, bucket[0], timeout=120, JRA_BATCH_RUNS="10")
        seconds = time.monotonic() - began
    assert proxy.killed
    assert done.returncode == 75, done.stderr
    line = one_error_line(done.stderr)
    assert re.fullmatch(rf"error: {url}: [a-z ]+(JobRuns|TestRuns|Alerts|BackendDisruption|LoadProblems|_JobRuns)*: "
                        rf"cannot reach BigQuery \(ConnectionError\) \(gave up after 6 attempts\){ERROR_TAIL}",
                        line), line
    committed = re.search(r"(\d+) run\(s\) \(", line)
    assert committed and int(committed.group(1)) > 0, line
    partial = dump(url)
    assert 0 < len(partial["JobRuns"]) < len(tables["JobRuns"])
    print(f"killed after the first batch: exit 75 after {seconds:.1f} s; {line}")
    rerun = upload(url, bigquery_emulator, bucket[0])
    assert rerun.returncode == 0, rerun.stderr
    assert dump(url) == tables


@pytest.mark.parametrize("read_timeout", [pytest.param("1", id="small-timeouts"),
                                          pytest.param(None, id="defaults", marks=pytest.mark.slow)])
def test_a_bigquery_that_stops_answering_fails_within_two_minutes(bigquery_emulator, bucket, clean, read_timeout):
    url = fresh_dataset(bigquery_emulator, bucket[1])
    _, _, clean_requests = clean
    env = {"JRA_READ_TIMEOUT": read_timeout, "JRA_RETRY_DEADLINE": "3.5"} if read_timeout else {}
    if not read_timeout:  # the defaults' backoff too (0.5 s doubling to 20 s): what a deployment gets
        env = {"JRA_RETRY_BASE_DELAY": "0.5", "JRA_RETRY_MAX_DELAY": "20"}
    with FaultProxy(bigquery_emulator) as proxy:
        # Accepted and never answered, from the middle of the upload on (a hung server, a black-holed route).
        proxy.on_request = lambda n: setattr(proxy, "dead", "stall") if n == clean_requests // 2 else None
        began = time.monotonic()
        done = upload(url, proxy.url, bucket[0], timeout=150, **env)
        seconds = time.monotonic() - began
    assert done.returncode == 75, done.stderr
    line = one_error_line(done.stderr)
    assert re.fullmatch(rf"error: {url}: [^:]+: cannot reach BigQuery \((ReadTimeout|ConnectionError|TimeoutError)\) "
                        rf"\(gave up after \d attempts in \d+\.\d s\){ERROR_TAIL}", line), line  # the time budget ended it
    print(f"stalled BigQuery ({'defaults' if not read_timeout else 'read timeout 1 s, retry deadline 3.5 s'}): "
          f"exit 75 after {seconds:.1f} s; {line}")


def test_a_killed_upload_leaves_only_expiring_staging_tables_that_the_next_writer_sweeps(
        bigquery_emulator, bucket, clean):
    url = fresh_dataset(bigquery_emulator, bucket[1])
    tables, _, _ = clean
    project, dataset = url.removeprefix("bigquery://").split("/")
    before = datetime.now(timezone.utc)
    # Job insertions answered 0.3 s late: a staging table lives long enough to be caught and killed with.
    with FaultProxy(bigquery_emulator, rate=1.0, kinds=("delay",), delay=0.3, match=is_job_insert,
                    record=True) as proxy:
        victim = subprocess.Popen(
            [sys.executable, "-m", "job_run_aggregator", "--warehouse", url, "--bucket", str(bucket[0]), "upload-all"],
            env=cli_env(BIGQUERY_EMULATOR_HOST=proxy.url, **FAST), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            give_up = time.monotonic() + 60
            while not staging_tables(url) and victim.poll() is None and time.monotonic() < give_up:
                time.sleep(0.05)
            victim.send_signal(signal.SIGKILL)
        finally:
            victim.wait(30)
    after = datetime.now(timezone.utc)
    litter = {t.table_id for t in staging_tables(url)}
    assert litter, "the kill did not land while a staging table existed"
    # Each staging table was created with an expiration an hour ahead (the emulator does not report it back, see
    # the xfail below: the request shows it), so BigQuery itself removes what a crash leaves.
    created = {b["tableReference"]["tableId"]: b for b in
               (json.loads(body) for method, path, body in proxy.bodies
                if method == "POST" and path.split("?")[0].endswith("/tables") and b"_staging_" in body)}
    assert litter <= set(created)
    for name in litter:
        expires = datetime.fromtimestamp(int(created[name]["expirationTime"]) / 1000, timezone.utc)
        assert before + STAGING_TTL <= expires <= after + STAGING_TTL, (name, expires)
    # A writer starting now leaves young staging tables alone (they may be another writer's load in flight)…
    young = BigQueryWarehouse(project, dataset)
    with young.lock("test"):
        pass
    assert {t.table_id for t in staging_tables(url)} == litter
    young.close()
    # …and one starting after their time to live removes them.
    late = BigQueryWarehouse(project, dataset, staging_ttl=timedelta(0))
    with late.lock("test"):
        pass
    late.close()
    assert staging_tables(url) == []
    rerun = upload(url, bigquery_emulator, bucket[0])
    assert rerun.returncode == 0, rerun.stderr
    assert dump(url) == tables
    assert staging_tables(url) == []


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="bqemulator 1.4.0 accepts a table's expirationTime but neither stores nor reports it")
def test_the_emulator_reports_a_staging_tables_expiration(bigquery_emulator):
    wh = BigQueryWarehouse("test-project", f"x_{uuid.uuid4().hex[:10]}")
    try:
        wh.create_tables()
        wh.load({"JobRuns": []})
        table = bigquery.Table(wh._ref("_staging_probe"), schema=[bigquery.SchemaField("a", "STRING")])
        table.expires = datetime.now(timezone.utc) + STAGING_TTL
        wh.client.create_table(table)
        assert wh.client.get_table(wh._ref("_staging_probe")).expires is not None
    finally:
        wh.close()
