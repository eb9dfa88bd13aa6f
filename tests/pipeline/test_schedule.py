"""schedule: one cycle end to end on DuckDB and the BigQuery emulator, failing steps, the lock, and clean stops
on SIGTERM (a real subprocess of the real CLI) that a re-run completes without doubling a row."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cli_process import start_cli
from paths import FIXTURES
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.errors import ConfigError
from job_run_aggregator.jobs.names import generate_job_names, read_job_names
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.pipeline.schedule import (
    STEPS,
    CycleConfig,
    StopFlag,
    newest_release,
    next_start,
    run_schedule,
    stop_on_signals,
)
from job_run_aggregator.warehouse.base import open_warehouse
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse
from job_run_aggregator.warehouse.schema import TABLES

# The exports' window ends at the wall clock, so the sample ends an hour before it.
NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
JOBS = 4


@dataclass(frozen=True, slots=True)
class Sample:
    bucket: Path
    names_file: Path
    runs: int  # finished runs: what a full upload loads

    def args(self, warehouse_url: str, *more: str) -> list[str]:
        return ["--warehouse", warehouse_url, "--bucket", str(self.bucket), *more]


def write_sample(folder: Path) -> Sample:
    summary = generate_sample_data(folder / "bucket", jobs=JOBS, days=3, seed=5, now=NOW)
    names = folder / "job-names.txt"
    names.write_text("".join(f"{n}\n" for n in sample_job_names(JOBS)))
    return Sample(folder / "bucket", names, summary.runs - summary.unfinished)


@pytest.fixture
def sample(tmp_path: Path) -> Sample:
    return write_sample(tmp_path)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, with timestamps normalised to UTC (BigQuery and DuckDB return them differently)."""
    wh = open_warehouse(url)
    try:
        out = {}
        for t in TABLES:
            rows = wh.query(f"SELECT {', '.join(t.column_names)} FROM {t.name}")
            out[t.name] = sorted(tuple(_plain(r[c]) for c in t.column_names) for r in rows)
        return out
    finally:
        wh.close()


def _plain(value: object) -> object:
    return value.astimezone(timezone.utc).isoformat() if isinstance(value, datetime) else value


def duplicate_keys(url: str) -> dict[str, int]:
    """Per table, how many natural keys occur more than once (DuckDB's primary keys cannot show this; BigQuery's
    MERGE is what prevents it there)."""
    wh = open_warehouse(url)
    try:
        out = {}
        for t in TABLES:
            keys = ", ".join(t.key)
            rows = wh.query(f"SELECT COUNT(*) AS n FROM (SELECT {keys} FROM {t.name} GROUP BY {keys} "
                            "HAVING COUNT(*) > 1) AS d")
            out[t.name] = int(rows[0]["n"])
        return out
    finally:
        wh.close()


NO_DUPLICATES = {t.name: 0 for t in TABLES}


# -- one cycle, end to end ---------------------------------------------------------------------------------------
def test_schedule_once_keeps_the_warehouse_current_and_exports_both_files(warehouse_url, sample, tmp_path):
    exports = tmp_path / "exports"
    code, out = cli(*sample.args(warehouse_url, "schedule", "--once", "--job-names-file", str(sample.names_file),
                                 "--export-dir", str(exports), "--min-job-runs", "5"))
    assert code == 0, out
    assert f"job-table-updater: tables 9 (9 created); Jobs from {sample.names_file}: {JOBS} new, 0 unchanged, " \
           "0 updated, 0 rejected" in out
    assert re.search(rf"upload-all: jobs {JOBS}, runs seen \d+, loaded {sample.runs}, already loaded 0, "
                     r"unfinished \d+, failed 0; rows loaded: AlertKeys \d+, Alerts \d+", out), out
    first = table_rows(warehouse_url)
    assert len(first["JobRuns"]) == len(first["Alerts_JobRuns"]) == sample.runs
    assert len(first["BackendDisruption"]) > 0 and len(first["TestRuns"]) > 0

    # The exported files are what export-historical-data writes for the newest release in Jobs (4.14).
    for step, data_type, name in (("export-disruptions", "disruptions", "backend_query_results.json"),
                                  ("export-alerts", "alerts", "alerts_query_results.json")):
        n = int(re.search(rf"{step}: wrote (\d+) rows for 4\.14 to {re.escape(str(exports / name))}", out)[1])
        assert n > 0, out
        direct = tmp_path / f"direct-{name}"
        code, text = cli(*sample.args(warehouse_url, "export-historical-data", "--release", "4.14", "--data-type",
                                      data_type, "--min-job-runs", "5", "--out", str(direct)))
        assert code == 0, text
        assert (exports / name).read_bytes() == direct.read_bytes()

    # The next cycle finds nothing new: every run already loaded, no row doubled.
    code, out = cli(*sample.args(warehouse_url, "schedule", "--once", "--job-names-file", str(sample.names_file)))
    assert code == 0, out
    assert f"Jobs from {sample.names_file}: 0 new, {JOBS} unchanged" in out
    assert re.search(rf"upload-all: jobs {JOBS}, runs seen \d+, loaded 0, already loaded [1-9]\d*,", out), out
    assert "export-" not in out  # no --export-dir, no export step
    assert table_rows(warehouse_url) == first
    assert duplicate_keys(warehouse_url) == NO_DUPLICATES


def test_a_failed_step_is_logged_the_later_steps_still_run_and_once_exits_with_its_code(duckdb_url, sample, tmp_path):
    code, out = cli(*sample.args(duckdb_url, "schedule", "--once", "--only", "job-table-updater",
                                 "--job-names-file", str(sample.names_file)))
    assert code == 0, out
    assert "upload-all" not in out

    missing = tmp_path / "missing.txt"
    code, out = cli(*sample.args(duckdb_url, "schedule", "--once", "--job-names-file", str(missing),
                                 "--export-dir", str(tmp_path / "exports"), "--min-job-runs", "5"))
    assert code == 2, out  # the failed step's error class: ConfigError
    assert f"job-table-updater: FAILED: {missing}: cannot read job-name file" in out
    assert f"upload-all: jobs {JOBS}, runs seen" in out and f"loaded {sample.runs}," in out
    assert "export-disruptions: wrote" in out and "export-alerts: wrote" in out
    assert (tmp_path / "exports" / "alerts_query_results.json").exists()


def test_unreadable_release_files_fail_the_job_table_updater_but_the_others_are_primed(duckdb_url):
    repo = FIXTURES / "release-repo"
    code, out = cli("--warehouse", duckdb_url, "schedule", "--once", "--only", "job-table-updater",
                    "--release-repo", str(repo))
    generated = generate_job_names(repo)
    assert len(generated.problems) == 2
    assert code == 3, out
    names = len(read_job_names(generated.text))
    assert (f"job-table-updater: FAILED: tables 9 (9 created); Jobs from {repo}: {names} new, 0 unchanged, "
            "0 updated, 0 rejected; 2 source file(s) could not be read, the others were used") in out
    for problem in generated.problems:
        assert str(problem) in out
    code, jobs = cli("--warehouse", duckdb_url, "jobs", "--json")
    assert jobs.count('"JobName"') == names


def test_a_cycle_waits_for_a_manual_writer_and_reports_it(duckdb_url, sample):
    manual = open_warehouse(duckdb_url)
    path = manual.path
    with manual.lock("upload-all", 0):
        code, out = cli(*sample.args(duckdb_url, "--lock-timeout", "0", "schedule", "--once",
                                     "--job-names-file", str(sample.names_file)))
    assert code == 6, out
    assert re.search(rf"lock: FAILED: {re.escape(path)}\.lock: another writer holds the lock \(upload-all pid "
                     rf"{os.getpid()} since [^)]+\); wait for it to finish or raise --lock-timeout", out), out
    assert "job-table-updater" not in out and not Path(path).exists()


def test_dry_run_writes_nothing(duckdb_url, sample, tmp_path):
    code, out = cli(*sample.args(duckdb_url, "schedule", "--once", "--only", "job-table-updater",
                                 "--job-names-file", str(sample.names_file)))
    assert code == 0, out
    before = table_rows(duckdb_url)
    code, out = cli(*sample.args(duckdb_url, "--dry-run", "schedule", "--once", "--export-dir",
                                 str(tmp_path / "exports"), "--min-job-runs", "5"))
    assert code == 0, out
    assert "job-table-updater: tables 9 (0 would be created); Jobs not primed" in out
    assert f"would load {sample.runs}, already loaded 0" in out
    assert f"export-alerts: would write 0 rows for 4.14 to {tmp_path / 'exports' / 'alerts_query_results.json'}" in out
    assert table_rows(duckdb_url) == before and not (tmp_path / "exports").exists()


# -- the loop, and stopping ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("started", "every", "now", "expected"),
    [
        pytest.param(100.0, 10.0, 103.0, 110.0, id="on-time"),
        pytest.param(100.0, 10.0, 110.0, 120.0, id="ended-exactly-at-the-next-start"),
        pytest.param(100.0, 10.0, 125.0, 130.0, id="overran-two-periods-skips-them"),
        pytest.param(100.0, 14400.0, 100.0, 14500.0, id="4h"),
    ],
)
def test_next_start_keeps_a_fixed_period(started, every, now, expected):
    assert next_start(started, every, now) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"steps": ("upload", "export-alerts")}, "--only upload: choose among " + ", ".join(STEPS),
                     id="unknown-step"),
        pytest.param({"job_names_file": Path("a"), "release_repo": Path("b")},
                     "give --job-names-file or --release-repo, not both: each is a full list of jobs",
                     id="two-sources"),
    ],
)
def test_cycle_config_errors_name_the_problem(kwargs, message):
    with pytest.raises(ConfigError) as err:
        CycleConfig(**kwargs)
    assert str(err.value) == message


def test_a_period_must_be_positive():
    with pytest.raises(ConfigError, match=r"^schedule period 0:00:00 is not positive; give e.g. --every 4h$"):
        run_schedule(lambda: pytest.fail("must not open anything"), CycleConfig(), timedelta(0))
    code, out = cli("schedule", "--every", "soon")
    assert code == 2 and "error: duration 'soon' not understood; use e.g. 24h, 5h30m, 2d, 90s" in out


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["periodic-ci-openshift-release-master-nightly-4.9-e2e-aws",
                      "periodic-ci-openshift-release-master-nightly-4.14-e2e-aws",
                      "periodic-ci-openshift-release-master-nightly-4.13-e2e-gcp"], "4.14",
                     id="numeric-not-text-order"),
        pytest.param(["periodic-ci-openshift-release-master-ci-5.0-upgrade-from-stable-4.22-e2e-aws-upgrade"], "5.0",
                     id="major-release"),
    ],
)
def test_exports_default_to_the_newest_release_in_jobs(duckdb_url, tmp_path, names, expected):
    (tmp_path / "names.txt").write_text("\n".join(names))
    code, out = cli("--warehouse", duckdb_url, "schedule", "--once", "--only", "job-table-updater",
                    "--job-names-file", str(tmp_path / "names.txt"))
    assert code == 0, out
    wh = open_warehouse(duckdb_url)
    try:
        assert newest_release(wh) == expected
    finally:
        wh.close()


def test_no_release_to_export_is_a_failed_step(duckdb_url, sample, tmp_path):
    code, out = cli(*sample.args(duckdb_url, "schedule", "--once", "--only", "export-alerts",
                                 "--only", "job-table-updater", "--export-dir", str(tmp_path)))
    assert code == 2, out
    assert "export-alerts: FAILED: no release to export: Jobs has no rows with a release; prime it or give " \
           "--release" in out
    assert out.index("job-table-updater:") < out.index("export-alerts:")  # STEPS order, whatever the flags' order


def test_a_signal_only_sets_the_flag_and_the_handlers_come_back():
    flag = StopFlag()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(flag):
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.wait(30)
        os.kill(os.getpid(), signal.SIGINT)  # a second signal keeps the first reason
    assert flag.reason == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.fixture
def spawn() -> Iterator:
    """Start the real CLI in a subprocess; read its stderr line by line; kill it if a test leaves it running."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        proc = start_cli(*args)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def read_until(proc: subprocess.Popen, needle: str) -> list[str]:
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if needle in line:
            return lines
    pytest.fail(f"the process ended (exit {proc.wait()}) before logging {needle!r}:\n{''.join(lines)}")


@pytest.mark.timeout(180)
@pytest.mark.emulator
def test_sigterm_during_upload_stops_after_a_commit_and_a_rerun_completes_without_doubling(tmp_path, spawn,
                                                                                           monkeypatch):
    clean = write_sample(tmp_path / "clean")
    clean_url = f"duckdb:///{tmp_path / 'clean.duckdb'}"
    code, out = cli(*clean.args(clean_url, "schedule", "--once", "--job-names-file", str(clean.names_file)))
    assert code == 0, out
    expected = table_rows(clean_url)

    sample = write_sample(tmp_path / "interrupted")
    url = f"duckdb:///{tmp_path / 'interrupted.duckdb'}"
    # The upload is frozen (SIGSTOP) as soon as it announces its jobs, SIGTERM is queued, and it resumes: the
    # signal surely arrives in the middle of the step. (A FIFO used to block it; FIFOs are now refused unread.)
    proc = spawn(*sample.args(url, "schedule", "--every", "1h", "--job-names-file", str(sample.names_file)))
    log = read_until(proc, f"upload-all: {JOBS} jobs to check")
    proc.send_signal(signal.SIGSTOP)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    _, rest = proc.communicate(timeout=120)
    log_text = "".join(log) + rest
    assert proc.returncode == 0, log_text
    stopped = re.search(rf"upload-all: stopped after (\d+) of {JOBS} jobs \(SIGTERM\); jobs {JOBS}, runs seen \d+, "
                        r"loaded [1-9]\d*, already loaded 0,", log_text)
    assert stopped and 1 <= int(stopped.group(1)) < JOBS, log_text
    assert "schedule: stopped cleanly on SIGTERM after job-table-updater, upload-all; the next run resumes from " \
           "there" in log_text
    assert "Traceback" not in log_text
    partial = table_rows(url)
    committed_jobs = sorted(sample_job_names(JOBS))[: int(stopped.group(1))]
    first_job_runs = {r for r in expected["JobRuns"] if r[1] in committed_jobs}
    assert set(partial["JobRuns"]) == first_job_runs  # exactly the committed jobs: nothing half-loaded
    assert {r[0] for r in partial["TestRuns"]} <= {r[0] for r in expected["TestRuns"]}

    code, out = cli(*sample.args(url, "schedule", "--once", "--job-names-file", str(sample.names_file)))
    assert code == 0, out
    assert f"loaded {sample.runs - len(first_job_runs)}, already loaded " in out
    assert table_rows(url) == expected
    assert duplicate_keys(url) == NO_DUPLICATES


@pytest.mark.timeout(120)
def test_sigterm_while_sleeping_stops_at_once(tmp_path, sample, spawn):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    proc = spawn(*sample.args(url, "schedule", "--every", "4h", "--job-names-file", str(sample.names_file)))
    log = read_until(proc, "schedule: cycle done (0 step(s) failed); next cycle at ")
    # While it sleeps nothing is held: a manual writer gets the lock and the DuckDB file at once.
    manual = DuckDBWarehouse(url.removeprefix("duckdb:///"), open_timeout=0)
    with manual.lock("manual", 0):
        assert len(manual.query("SELECT JobName FROM Jobs")) == JOBS
    manual.close()
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(log) + rest
    assert "schedule: stopped cleanly on SIGTERM while waiting for the next cycle" in rest
