"""The `serve` command: binds where asked, serves the warehouse read-only, and lets a writer in between requests."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cli_process import start_cli
from servers import free_port
from web.site import Demo

from job_run_aggregator.cli.serve import LOOPBACK_NAMES, allowed_hosts
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse


@pytest.mark.parametrize(("host", "expected"), [
    pytest.param("127.0.0.1", list(LOOPBACK_NAMES), id="ipv4-loopback"),
    pytest.param("::1", list(LOOPBACK_NAMES), id="ipv6-loopback"),
    pytest.param("localhost", list(LOOPBACK_NAMES), id="localhost"),
    pytest.param("0.0.0.0", None, id="all-interfaces"),
    pytest.param("dashboard.example", None, id="a-name"),
])
def test_allowed_hosts(host: str, expected: list[str] | None) -> None:
    assert allowed_hosts(host) == expected


def fetch(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_answers_and_a_writer_gets_in_between_requests(demo: Demo, tmp_path: Path) -> None:
    path = tmp_path / "served.duckdb"
    path.write_bytes(demo.warehouse.read_bytes())
    port = free_port()
    proc = start_cli("--warehouse", f"duckdb:///{path}", "--bucket", str(demo.bucket),
                     "serve", "--port", str(port), "--min-job-runs", "20", stdout=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/overview.json?now={demo.now_param.replace('+', '%2B')}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, data = fetch(url)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.1)
        assert status == 200 and data["state"] == "ok" and data["filters"]["min_runs"] == 20
        # The dashboard holds no connection between requests: a writer opens the file and loads.
        writer = DuckDBWarehouse(path, open_timeout=5)
        try:
            writer.create_tables()
        finally:
            writer.close()
        assert fetch(url)[0] == 200
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert f"dashboard on http://127.0.0.1:{port}/ over duckdb:///{path} (read-only)" in stderr
