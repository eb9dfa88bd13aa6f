"""The CLI as a separate process, one environment for every test that starts one.

A CLI process runs this checkout's package (src/ first on PYTHONPATH), logs plain INFO lines on stderr, and sees
none of the JRA_* settings of whoever runs the tests. The emulator hosts the session fixtures export are passed on
only with `inherit_servers`: tests that point the CLI at a server of their own (or at none) give it explicitly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from paths import REPO

SERVER_VARS = ("STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST")
CLI = (sys.executable, "-m", "job_run_aggregator")


def cli_env(inherit_servers: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a CLI process (see the module docstring); `extra` is added last."""
    dropped = () if inherit_servers else SERVER_VARS
    env = {k: v for k, v in os.environ.items() if not k.startswith("JRA_") and k not in dropped}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    env["JRA_LOG_LEVEL"] = "INFO"
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m job_run_aggregator ARGS`; a run longer than `timeout` fails the test (TimeoutExpired)."""
    return subprocess.run(
        [*CLI, *args], env=env or cli_env(), cwd=cwd,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False,
    )


def start_cli(*args: str, env: dict[str, str] | None = None, stdout: int | None = subprocess.DEVNULL,
              stderr: int | None = subprocess.PIPE) -> subprocess.Popen[str]:
    """Start `python -m job_run_aggregator ARGS` without waiting; stderr is a text pipe by default."""
    return subprocess.Popen([*CLI, *args], stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, text=True,
                            env=env or cli_env(inherit_servers=True))
