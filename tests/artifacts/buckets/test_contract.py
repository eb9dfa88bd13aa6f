"""One contract suite for every bucket: a local folder and fake-gcs-server seeded with the same tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from job_run_aggregator.artifacts.buckets.base import open_bucket
from job_run_aggregator.errors import InputError

FILES = {
    "logs/job-a/1000000000000000001/prowjob.json": b'{"spec": {"job": "job-a"}}',
    "logs/job-a/1000000000000000001/artifacts/e2e/junit/backend-disruption_20261101-101010.json": b"{}",
    "logs/job-a/1000000000000000002/prowjob.json": b"{}",
    "logs/job-a/1000000000000000003/started.json": b'{"timestamp": 1}',
    "logs/job-b/1000000000000000009/prowjob.json": b"{}",
}


def write_tree(root: Path) -> None:
    for rel, data in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.emulator)])
def bucket(request, tmp_path):
    if request.param == "local":
        write_tree(tmp_path / "bucket")
        return open_bucket(str(tmp_path / "bucket"))
    write_tree(tmp_path / "data" / "test-bucket")
    request.getfixturevalue("gcs_server")(tmp_path / "data")
    return open_bucket("gs://test-bucket")


def test_list_dirs_lists_jobs_and_runs(bucket):
    assert list(bucket.list_dirs("logs")) == ["job-a", "job-b"]
    assert list(bucket.list_dirs("logs/job-a")) == [
        "1000000000000000001", "1000000000000000002", "1000000000000000003"]


def test_list_dirs_starts_after_a_build_id(bucket):
    assert list(bucket.list_dirs("logs/job-a", start_after="1000000000000000001")) == [
        "1000000000000000002", "1000000000000000003"]
    assert list(bucket.list_dirs("logs/job-a", start_after="1000000000000000003")) == []


def test_list_files_is_recursive_and_read_returns_bytes(bucket):
    files = list(bucket.list_files("logs/job-a/1000000000000000001"))
    assert files == [
        "logs/job-a/1000000000000000001/artifacts/e2e/junit/backend-disruption_20261101-101010.json",
        "logs/job-a/1000000000000000001/prowjob.json",
    ]
    assert bucket.read(files[1]) == b'{"spec": {"job": "job-a"}}'


def test_missing_object_is_an_input_error_naming_it(bucket):
    with pytest.raises(InputError, match="logs/job-a/nope.json"):
        bucket.read("logs/job-a/nope.json")


def test_local_paths_never_escape_the_bucket(tmp_path):
    write_tree(tmp_path / "bucket")
    (tmp_path / "secret.txt").write_text("x")
    b = open_bucket(str(tmp_path / "bucket"))
    with pytest.raises(InputError, match="escapes the bucket folder"):
        b.read("../secret.txt")
    with pytest.raises(InputError, match="escapes the bucket folder"):
        list(b.list_dirs("logs/../../"))
