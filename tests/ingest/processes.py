"""The real CLI as separate processes: start one, wait until its upload has begun, stop, continue or kill it."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cli_process import cli_env, start_cli

UPLOAD_STARTED = "jobs to check"  # logged once the lock is held and the loaded state has been read
SUMMARY = re.compile(
    r"upload-all: jobs (?P<jobs>\d+), runs seen (?P<seen>\d+), loaded (?P<loaded>\d+), already loaded (?P<skipped>\d+),"
    r" unfinished (?P<unfinished>\d+), failed (?P<failed>\d+); rows loaded: (?P<rows>.*); problems (?P<problems>\d+)"
)


@dataclass
class CliProcess:
    """One `python -m job_run_aggregator …` process; stderr is read line by line."""

    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)  # JRA_* settings for this process (others are not inherited)
    proc: subprocess.Popen = field(init=False)
    stderr: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The emulator hosts pass on: the BigQuery runs reach the session's bqemulator through them.
        self.proc = start_cli(*self.args, env=cli_env(inherit_servers=True, **self.env))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for_upload_start(self) -> None:
        """Read stderr until the upload has begun; fail with what was printed if the process ends first."""
        while True:
            line = self.proc.stderr.readline()
            if not line:
                self.finish()
                raise AssertionError(f"process ended (exit {self.proc.returncode}) before its upload began:\n"
                                     + "".join(self.stderr))
            self.stderr.append(line)
            if UPLOAD_STARTED in line:
                return

    def finish(self, timeout: float = 300) -> int:
        _, rest = self.proc.communicate(timeout=timeout)
        self.stderr.append(rest or "")
        return self.proc.returncode

    @property
    def output(self) -> str:
        return "".join(self.stderr)

    def summary(self) -> dict[str, object]:
        match = SUMMARY.search(self.output)
        assert match, f"no summary line in:\n{self.output}"
        out: dict[str, object] = {k: int(v) for k, v in match.groupdict().items() if k != "rows"}
        rows = match["rows"]
        out["rows"] = {} if rows == "none" else {t: int(n) for t, n in (p.rsplit(" ", 1) for p in rows.split(", "))}
        return out


def upload_all(warehouse_url: str, bucket: Path, *extra: str, env: dict[str, str] | None = None) -> CliProcess:
    """Start `upload-all`; global options in `extra` come first (e.g. --lock-timeout 1); `env`: JRA_* settings."""
    return CliProcess(("--warehouse", warehouse_url, "--bucket", str(bucket), *extra, "upload-all"), env or {})


def run_cli(*args: str, timeout: float = 300) -> CliProcess:
    process = CliProcess(args)
    assert process.finish(timeout) == 0, process.output
    return process


def copy_duckdb(template: Path, target: Path) -> str:
    """Copy a closed DuckDB warehouse file; return its URL."""
    shutil.copyfile(template, target)
    return f"duckdb:///{target}"
