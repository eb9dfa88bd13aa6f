"""DuckDB errors at the edge (issue 15 finding 5): one line, the right cause, a distinct exit code, no stray .lock."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from faults.workspace import cli_env, run_cli

from job_run_aggregator.errors import ConfigError, LockBusy, ResourceExhausted
from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse, check_memory_limit, default_memory_limit


@pytest.fixture(scope="module")
def primed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A bucket of 4 jobs x 3 days and a DuckDB file with tables and Jobs, no runs."""
    base = tmp_path_factory.mktemp("duckerr")
    generate_sample_data(base / "bucket", jobs=4, days=3, seed=2)
    (base / "jobs.txt").write_text("\n".join(sample_job_names(4)) + "\n")
    url = f"duckdb:///{base / 'template.duckdb'}"
    for args in (("create-tables",), ("prime-job-table", "--job-names-file", str(base / "jobs.txt"))):
        done = run_cli("--warehouse", url, *args)
        assert done.returncode == 0, done.stderr
    return base / "bucket", base / "template.duckdb"


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "╭" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.mark.parametrize("command", [("create-tables",), ("upload-all",), ("status",)])
def test_a_directory_is_named_as_such_and_gets_no_lock_file(tmp_path, primed, command):
    target = tmp_path / "warehouse.duckdb"
    target.mkdir()
    done = run_cli("--warehouse", f"duckdb://{target}", "--bucket", str(primed[0]), *command)
    assert done.returncode == 2, done.stderr
    assert one_error_line(done.stderr) == (
        f"error: {target}: is a directory, not a DuckDB file; point --warehouse at a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]


@pytest.mark.parametrize("content", [os.urandom(100_000), b"SQLite format 3\x00" + bytes(1000), b"x"])
def test_a_file_of_another_kind_is_not_a_duckdb_file_and_is_left_alone(tmp_path, primed, content):
    target = tmp_path / "warehouse.duckdb"
    target.write_bytes(content)
    for command in (("create-tables",), ("upload-all",)):
        done = run_cli("--warehouse", f"duckdb://{target}", "--bucket", str(primed[0]), *command)
        assert done.returncode == 2, done.stderr
        assert one_error_line(done.stderr) == (
            f"error: {target}: not a DuckDB file; point --warehouse at a DuckDB file or a new path")
    assert target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_a_file_held_by_another_process_names_its_pid(tmp_path, primed):
    target = tmp_path / "held.duckdb"
    shutil.copyfile(primed[1], target)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(target)!r}); print('ready', flush=True); "
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(LockBusy) as caught:
            DuckDBWarehouse(target, open_timeout=0.3).query("SELECT 1 AS x")
        assert str(caught.value).startswith(f"{target}: locked by PID {holder.pid} (")
        assert str(caught.value).endswith("which has the file open; wait for it to finish or raise --lock-timeout")
        assert caught.value.exit_code == 6
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_out_of_memory_in_duckdb_is_one_line_and_exit_7_and_nothing_half_written(tmp_path, primed):
    bucket, template = primed
    target = tmp_path / "w.duckdb"
    shutil.copyfile(template, target)
    url = f"duckdb://{target}"
    done = run_cli("--warehouse", url, "--bucket", str(bucket), "--memory-limit", "1MB", "upload-all")
    assert done.returncode == 7, done.stderr
    assert one_error_line(done.stderr) == (
        f"error: {target}: out of memory; raise --memory-limit or the process's memory, or lower --workers "
        "(nothing half-written was committed)")
    debug = run_cli("--warehouse", url, "--bucket", str(bucket), "--memory-limit", "1MB", "--log-level", "DEBUG",
                    "upload-all")
    assert debug.returncode == 7 and "OutOfMemoryException" in debug.stderr  # the cause, for whoever asks
    again = run_cli("--warehouse", url, "--bucket", str(bucket), "upload-all")  # committed chunks kept, rest loads
    clean = tmp_path / "clean.duckdb"
    shutil.copyfile(template, clean)
    assert again.returncode == 0, again.stderr
    assert run_cli("--warehouse", f"duckdb://{clean}", "--bucket", str(bucket), "upload-all").returncode == 0
    from faults.workspace import dump_tables

    assert dump_tables(url) == dump_tables(f"duckdb://{clean}")


def test_no_thread_left_is_one_line_and_exit_7(tmp_path, primed):
    bucket, template = primed
    target = tmp_path / "w.duckdb"
    shutil.copyfile(template, target)

    def limits() -> None:  # every new thread reserves a 1 GB stack; 3 GB of address space holds only a few
        resource.setrlimit(resource.RLIMIT_STACK, (1 << 30, 1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    done = subprocess.run(
        [sys.executable, "-m", "job_run_aggregator", "--warehouse", f"duckdb://{target}", "--bucket", str(bucket),
         "upload-all", "--workers", "8"],
        env=cli_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, preexec_fn=limits, check=False)
    assert done.returncode == 7, done.stderr
    assert one_error_line(done.stderr) == (
        "error: cannot start another thread (process or memory limits); lower --workers or raise the limit")


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 4 MiB tmpfs (needs root, as the CI and the dev machines run)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_one_line_and_exit_7_and_the_warehouse_stays_consistent(tiny_disk, tmp_path, primed):
    bucket, template = primed
    target = tiny_disk / "w.duckdb"
    shutil.copyfile(template, target)
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    (tiny_disk / "filler").write_bytes(bytes(max(0, free - 300 * 1024)))  # leaves 300 KiB: a chunk or two fits
    url = f"duckdb://{target}"
    done = run_cli("--warehouse", url, "--bucket", str(bucket), "upload-all")
    assert done.returncode == 7, done.stderr
    assert one_error_line(done.stderr).startswith(f"error: {target}: no space left on the device; free some and run")
    # Moved to a disk with room, the same file loads the rest and equals a clean load.
    roomy = tmp_path / "roomy.duckdb"
    shutil.copyfile(target, roomy)
    if (tiny_disk / "w.duckdb.wal").exists():
        shutil.copyfile(tiny_disk / "w.duckdb.wal", tmp_path / "roomy.duckdb.wal")
    assert run_cli("--warehouse", f"duckdb://{roomy}", "--bucket", str(bucket), "upload-all").returncode == 0
    clean = tmp_path / "clean.duckdb"
    shutil.copyfile(template, clean)
    assert run_cli("--warehouse", f"duckdb://{clean}", "--bucket", str(bucket), "upload-all").returncode == 0
    from faults.workspace import dump_tables

    assert dump_tables(f"duckdb://{roomy}") == dump_tables(f"duckdb://{clean}")


@pytest.mark.parametrize("value", ["2GB", "512MiB", "1.5 GB", "100kb"])
def test_memory_limits_in_duckdb_units_are_accepted(value):
    assert check_memory_limit(value) == value


@pytest.mark.parametrize("value", ["", "lots", "2GB'; DROP TABLE Jobs; --", "-1GB", "5"])
def test_anything_else_is_a_config_error(value):
    with pytest.raises(ConfigError, match="memory limit .* not understood; use a size such as 2GB or 512MiB"):
        check_memory_limit(value)


def test_the_default_memory_budget_is_half_the_address_space_limit():
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20)); "
            "from job_run_aggregator.warehouse.duckdb import default_memory_limit; print(default_memory_limit())")
    done = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "768MiB", done.stderr
    unlimited = resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY
    assert default_memory_limit() is None or not unlimited or Path("/sys/fs/cgroup/memory.max").exists()


def test_resource_errors_map_onto_exit_7():
    assert ResourceExhausted.exit_code == 7


def test_an_upload_with_four_700_mb_files_completes_under_a_1_5_gb_address_space_limit(tmp_path, primed):
    bucket, template = primed
    copy = tmp_path / "bucket"
    shutil.copytree(bucket, copy)
    runs = sorted((copy / "logs").glob("*/*/prowjob.json"))[:4]
    for i, prowjob in enumerate(runs):  # sparse: 700 MB each by size, no disk; reading them would need 2.8 GB
        with (prowjob.parent / f"junit_huge{i}.xml").open("wb") as out:
            out.truncate(700 * 1024 * 1024)
    target = tmp_path / "w.duckdb"
    shutil.copyfile(template, target)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    done = subprocess.run(
        [sys.executable, "-m", "job_run_aggregator", "--warehouse", f"duckdb://{target}", "--bucket", str(copy),
         "upload-all"],
        env=cli_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, preexec_fn=limit,
        check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("file is 734003200 bytes, over the 64 MiB limit; not read") == 4, done.stderr
