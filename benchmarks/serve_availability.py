"""`python -m benchmarks.serve_availability [--jobs 24] [--loops 2]`: page latency while `upload-all` writes.

Writes a sample bucket (~3,000 runs with 24 jobs), primes a DuckDB warehouse, starts `serve` on it (127.0.0.1),
then runs `upload-all` into the same file while `--loops` request loops fetch `/` and `/overview.json`. Prints
the upload's exit code and wall time and the request latencies (status counts, median, P95, max) during the
upload; the same figures without `serve` give the writer's baseline. Figures go to stdout only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def cli(*args: str, warehouse: Path, bucket: Path) -> list[str]:
    return [sys.executable, "-m", "job_run_aggregator", "--warehouse", f"duckdb:///{warehouse}", "--bucket",
            str(bucket), *args]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.perf_counter() - start


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve_availability", description=__doc__)
    parser.add_argument("--jobs", type=int, default=24, help="Sample jobs (24 give ~3,000 runs).")
    parser.add_argument("--loops", type=int, default=2, help="Concurrent request loops.")
    parser.add_argument("--writer-loops", type=int, default=8,
                        help="Request loops while prime-job-table runs (the writer's side).")
    parser.add_argument("--src", default=str(SRC), help="The package source to measure (e.g. an older checkout).")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": args.src}
    with tempfile.TemporaryDirectory(prefix="jra-serve-bench-") as tmp:
        root = Path(tmp)
        bucket, warehouse, names = root / "bucket", root / "ci.duckdb", root / "jobs.txt"
        for step in (("generate-sample-data", "--out", str(bucket), "--jobs", str(args.jobs), "--job-names-file",
                      str(names)), ("create-tables",), ("prime-job-table", "--job-names-file", str(names))):
            subprocess.run(cli(*step, warehouse=warehouse, bucket=bucket), env=env, check=True, capture_output=True)
        primed = warehouse.read_bytes()

        began = time.perf_counter()
        alone = subprocess.run(cli("upload-all", warehouse=warehouse, bucket=bucket), env=env, capture_output=True,
                               check=False)
        print(f"upload-all alone: exit {alone.returncode}, {time.perf_counter() - began:.1f} s")
        warehouse.write_bytes(primed)
        Path(str(warehouse) + ".wal").unlink(missing_ok=True)

        port = free_port()
        server = subprocess.Popen(cli("serve", "--port", str(port), warehouse=warehouse, bucket=bucket), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while fetch(base + "/overview.json")[0] != 200:
                if time.monotonic() > deadline:
                    raise SystemExit("serve did not answer within 30 s")
                time.sleep(0.2)
            samples: list[tuple[int, float]] = []
            writer_runs: list[tuple[int, float]] = []
            done = threading.Event()

            def loop() -> None:
                while not done.is_set():
                    for path in ("/", "/overview.json"):
                        samples.append(fetch(base + path))

            threads = [threading.Thread(target=loop) for _ in range(args.loops)]
            began = time.perf_counter()
            for t in threads:
                t.start()
            upload = subprocess.run(cli("upload-all", warehouse=warehouse, bucket=bucket), env=env,
                                    capture_output=True, text=True, check=False)
            wall = time.perf_counter() - began
            done.set()
            for t in threads:
                t.join()
            during_upload = list(samples)
            # The writer's side: a short writer (prime-job-table, ~1 s alone) three times under more request loops.
            done.clear()
            threads = [threading.Thread(target=loop) for _ in range(args.writer_loops)]
            for t in threads:
                t.start()
            for _ in range(3):
                began = time.perf_counter()
                primed_again = subprocess.run(
                    cli("prime-job-table", "--job-names-file", str(names), warehouse=warehouse, bucket=bucket),
                    env=env, capture_output=True, text=True, check=False)
                writer_runs.append((primed_again.returncode, time.perf_counter() - began))
            done.set()
            for t in threads:
                t.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"upload-all while serving: exit {upload.returncode}, {wall:.1f} s"
              + (f" ({upload.stderr.strip().splitlines()[-1]})" if upload.returncode else ""))
        samples = during_upload
        statuses: dict[int, int] = {}
        for status, _ in samples:
            statuses[status] = statuses.get(status, 0) + 1
        times = sorted(t for _, t in samples)
        p95 = times[int(0.95 * (len(times) - 1))] if times else 0.0
        print(f"requests: {len(samples)} {statuses}; median {statistics.median(times):.3f} s, "
              f"P95 {p95:.3f} s, max {max(times):.3f} s")
        print(f"prime-job-table under {args.writer_loops} request loops: "
              + ", ".join(f"exit {code} in {seconds:.1f} s" for code, seconds in writer_runs))


if __name__ == "__main__":
    main(sys.argv[1:])
