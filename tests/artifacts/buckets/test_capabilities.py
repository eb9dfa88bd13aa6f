"""Engine differences are attributes of the backends, so callers outside buckets/ and warehouse/ never sniff URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from job_run_aggregator.artifacts.buckets.base import is_local_bucket, open_bucket, open_run_folder
from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.warehouse.base import open_warehouse


@pytest.mark.parametrize(
    ("url", "local"),
    [
        pytest.param("./ci-artifacts", True, id="relative-folder"),
        pytest.param("/data/ci", True, id="absolute-folder"),
        pytest.param("file:///data/ci", True, id="file-url"),
        pytest.param("gs://test-platform-results", False, id="gcs"),
    ],
)
def test_is_local_bucket_without_opening_it(url: str, local: bool) -> None:
    assert is_local_bucket(url) is local


def test_unknown_bucket_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bucket URL 's3://x' not understood"):
        is_local_bucket("s3://x")


def test_a_local_bucket_says_so(tmp_path: Path) -> None:
    assert open_bucket(str(tmp_path)).is_local is True


def test_open_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "logs" / "job" / "1"
    run.mkdir(parents=True)
    bucket, prefix = open_run_folder(str(run))
    assert bucket.is_local and prefix == ""
    with pytest.raises(InputError, match="run folder not found"):
        open_run_folder(str(tmp_path / "missing"))


def test_every_warehouse_takes_every_capability_option(duckdb_url: str) -> None:
    # maximum_bytes_billed means nothing to DuckDB and is ignored; read_only is honoured.
    wh = open_warehouse(duckdb_url, maximum_bytes_billed=10)
    wh.create_tables()
    wh.close()
    reader = open_warehouse(duckdb_url, read_only=True, maximum_bytes_billed=10)
    try:
        assert reader.query("SELECT count(*) AS n FROM Jobs") == [{"n": 0}]
        with pytest.raises(Exception, match="read-only"):
            reader.load({"Jobs": [{"JobName": "x"}]})
    finally:
        reader.close()


@pytest.mark.emulator
def test_a_gcs_bucket_is_not_local(gcs_server) -> None:
    gcs_server()
    assert open_bucket("gs://some-bucket", anonymous=True).is_local is False


@pytest.mark.emulator
def test_bigquery_accepts_read_only(bigquery_url: str) -> None:
    wh = open_warehouse(bigquery_url, read_only=True, maximum_bytes_billed=10**9)
    try:
        assert wh.dialect == "bigquery"
    finally:
        wh.close()
