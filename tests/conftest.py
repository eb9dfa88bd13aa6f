"""Shared fixtures: real warehouses (DuckDB, the BigQuery emulator) and real buckets (folder, fake-gcs-server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from job_run_aggregator import retry
from paths import REFERENCE
from servers import bq_emulator, fake_gcs_server


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Retries keep their count and shape in tests; only the waiting is shortened.
    monkeypatch.setattr(retry, "DEFAULT_BASE_DELAY", 0.01)
    monkeypatch.setattr(retry, "DEFAULT_MAX_DELAY", 0.05)


@pytest.fixture(scope="session")
def reference() -> Path:
    assert REFERENCE.is_dir(), f"reference data missing at {REFERENCE}"
    return REFERENCE


@pytest.fixture(scope="session")
def bigquery_emulator() -> Iterator[str]:
    """One bqemulator for the session; BIGQUERY_EMULATOR_HOST points at it."""
    with bq_emulator() as url:
        old = os.environ.get("BIGQUERY_EMULATOR_HOST")
        os.environ["BIGQUERY_EMULATOR_HOST"] = url
        try:
            yield url
        finally:
            if old is None:
                os.environ.pop("BIGQUERY_EMULATOR_HOST", None)
            else:
                os.environ["BIGQUERY_EMULATOR_HOST"] = old


@pytest.fixture
def bigquery_url(bigquery_emulator: str) -> str:
    """A fresh dataset on the emulator for one test."""
    return f"bigquery://test-project/t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'ci_data.duckdb'}"


@pytest.fixture(params=["duckdb", pytest.param("bigquery", marks=pytest.mark.emulator)])
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """Run a test once per warehouse: the contract suite."""
    if request.param == "duckdb":
        return request.getfixturevalue("duckdb_url")
    return request.getfixturevalue("bigquery_url")


@pytest.fixture
def warehouse(warehouse_url: str):
    from job_run_aggregator.warehouse.base import open_warehouse

    wh = open_warehouse(warehouse_url)
    yield wh
    wh.close()


@pytest.fixture
def gcs_server():
    """Factory: start fake-gcs-server seeded from a folder (`<dir>/<bucket>/<path>`); STORAGE_EMULATOR_HOST set."""
    stack = []

    def start(data_dir: Path | None = None) -> str:
        cm = fake_gcs_server(data_dir)
        url = cm.__enter__()
        stack.append(cm)
        os.environ["STORAGE_EMULATOR_HOST"] = url
        return url

    old = os.environ.get("STORAGE_EMULATOR_HOST")
    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)
    if old is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = old
