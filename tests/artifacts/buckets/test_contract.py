"""One contract suite for every bucket: a local folder and fake-gcs-server seeded with the same tree."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from job_run_aggregator.artifacts.buckets.base import RefusedPath, open_bucket
from job_run_aggregator.errors import InputError, ObjectMissing

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
    with pytest.raises(ObjectMissing, match="logs/job-a/nope.json"):
        bucket.read("logs/job-a/nope.json")


def test_local_paths_never_escape_the_bucket(tmp_path):
    write_tree(tmp_path / "bucket")
    (tmp_path / "secret.txt").write_text("x")
    b = open_bucket(str(tmp_path / "bucket"))
    with pytest.raises(InputError, match="escapes the bucket folder"):
        b.read("../secret.txt")
    with pytest.raises(InputError, match="escapes the bucket folder"):
        list(b.list_dirs("logs/../../"))


# -- bounded reads (issue 15, finding 4): only regular files, size checked before the first byte -------------------


def _read_with_deadline(bucket, path: str, seconds: float = 20.0):
    """Read in a thread: a read that blocks (a FIFO without writer) fails the test instead of hanging it."""
    import threading

    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(bucket.read(path))
        except Exception as exc:  # the outcome under test
            outcome.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"reading {path} did not return within {seconds} s"
    return outcome[0]


def test_a_fifo_or_device_is_refused_without_reading(tmp_path):
    import stat

    write_tree(tmp_path / "bucket")
    run = tmp_path / "bucket" / "logs" / "job-a" / "1000000000000000001"
    os.mkfifo(run / "backend-disruption_fifo.json")
    os.mknod(run / "alerts_zero.json", stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero: endless bytes
    b = open_bucket(str(tmp_path / "bucket"))
    for leaf, kind in (("backend-disruption_fifo.json", "a FIFO"), ("alerts_zero.json", "a character device")):
        path = f"logs/job-a/1000000000000000001/{leaf}"
        outcome = _read_with_deadline(b, path)
        assert isinstance(outcome, InputError) and not isinstance(outcome, ObjectMissing)
        assert str(outcome) == f"{path}: is {kind}, not a regular file; not read"
    listed = {p: getattr(p, "reason", None) for p in b.list_files("logs/job-a/1000000000000000001")}
    assert listed["logs/job-a/1000000000000000001/alerts_zero.json"] == (
        "not a regular file (FIFO, device or socket); not read")
    assert isinstance(next(p for p in listed if p.endswith("fifo.json")), RefusedPath)


def test_a_file_over_the_cap_is_refused_from_its_size_alone(tmp_path):
    write_tree(tmp_path / "bucket")
    big = tmp_path / "bucket" / "logs" / "job-a" / "1000000000000000001" / "junit_big.xml"
    with big.open("wb") as out:  # sparse: 700 MB of size, no disk used; reading it would allocate 700 MB
        out.truncate(700 * 1024 * 1024)
    b = open_bucket(str(tmp_path / "bucket"))
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            b.read("logs/job-a/1000000000000000001/junit_big.xml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "file is 734003200 bytes, over the 64 MiB limit; not read"
    assert peak < 1024 * 1024, peak


def test_a_file_growing_past_the_cap_while_read_is_cut_at_the_cap(tmp_path, monkeypatch):
    from job_run_aggregator.artifacts.buckets import local

    write_tree(tmp_path / "bucket")
    path = tmp_path / "bucket" / "logs" / "job-a" / "1000000000000000001" / "prowjob.json"
    real_fstat = os.fstat
    monkeypatch.setattr(local.os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 1, *real_fstat(fd)[7:])))
    b = local.LocalBucket(tmp_path / "bucket", max_bytes=10)  # the file has 26 bytes; fstat claims 1
    with pytest.raises(InputError, match="grew past the 10 bytes limit"):
        b.read(path.relative_to(tmp_path / "bucket").as_posix())


def test_symlinks_out_of_the_bucket_are_listed_as_refused(tmp_path):
    write_tree(tmp_path / "bucket")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "junit.xml").write_text("<testsuite/>")
    run = tmp_path / "bucket" / "logs" / "job-a" / "1000000000000000001"
    os.symlink(tmp_path / "outside", run / "artifacts" / "linked")
    os.symlink(tmp_path / "outside" / "junit.xml", run / "junit_out.xml")
    os.symlink(tmp_path / "outside", tmp_path / "bucket" / "logs" / "job-a" / "1000000000000000004")
    b = open_bucket(str(tmp_path / "bucket"))
    refused = {p: p.reason for p in b.list_files(str(run.relative_to(tmp_path / "bucket")))
               if isinstance(p, RefusedPath)}
    prefix = "logs/job-a/1000000000000000001"
    assert refused == {f"{prefix}/artifacts/linked": "symlink to outside the bucket folder; not read",
                       f"{prefix}/junit_out.xml": "symlink to outside the bucket folder; not read"}
    dirs = list(b.list_dirs("logs/job-a"))
    assert dirs[-1] == "1000000000000000004" and dirs[-1].reason == "symlinked folder; not followed"
    assert not any(isinstance(d, RefusedPath) for d in dirs[:-1])
