"""One upload cycle against BigQuery with realistic job latency (issue 21): BigQuery jobs and wall time.

`python -m benchmarks.bigquery_latency [--jobs 100] [--runs-per-job 1,2] [--latency 1.5]`

The bqemulator answers in milliseconds; real BigQuery takes 1-3 s per job however small. A fault proxy
(tests/faults/proxy.py) in front of the emulator holds every job insertion (a query, a MERGE, a load) for
`--latency` seconds before answering; other requests (tables, polls) pass at once. The bucket holds ~1.5 new runs
for each of `--jobs` jobs (a 4-hourly cycle at real volume), the dataset has the tables and the Jobs rows; one
`upload-all --json` is timed, and its BigQuery job count is checked against the proxy's count of job insertions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def is_job_insert(method: str, path: str) -> bool:
    return method == "POST" and path.split("?")[0].endswith("/jobs")


def cli(args: list[str], endpoint: str, timeout: float = 7200) -> subprocess.CompletedProcess[str]:
    from faults.workspace import cli_env

    return subprocess.run([sys.executable, "-m", "job_run_aggregator", *args], capture_output=True, text=True,
                          env=cli_env(BIGQUERY_EMULATOR_HOST=endpoint), timeout=timeout, check=False)


def measure(jobs: int, runs_per_job: tuple[int, int], latency: float) -> dict[str, object]:
    sys.path.insert(0, str(REPO / "tests"))
    from faults.proxy import FaultProxy
    from servers import bq_emulator

    from job_run_aggregator.pipeline.sample_data import generate_sample_data, sample_job_names

    with tempfile.TemporaryDirectory() as tmp, bq_emulator() as emulator:
        bucket, names = Path(tmp) / "bucket", Path(tmp) / "jobs.txt"
        sample = generate_sample_data(bucket, jobs=jobs, days=1, seed=9, now=NOW, runs_per_day=runs_per_job)
        names.write_text("".join(f"{n}\n" for n in sample_job_names(jobs)))
        url = f"bigquery://test-project/bench_{uuid.uuid4().hex[:8]}"
        for args in (["create-tables"], ["prime-job-table", "--job-names-file", str(names)]):
            done = cli(["--warehouse", url, *args], emulator)
            assert done.returncode == 0, done.stderr
        with FaultProxy(emulator, rate=1.0, kinds=("delay",), delay=latency, match=is_job_insert) as proxy:
            began = time.monotonic()
            done = cli(["--warehouse", url, "--bucket", str(bucket), "upload-all", "--json"], proxy.url)
            seconds = time.monotonic() - began
            inserts = sum(1 for m, p, _ in proxy.log if is_job_insert(m, p))
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["bigquery_jobs"] == inserts, (summary["bigquery_jobs"], inserts)
        return {"jobs": jobs, "runs": sample.runs, "loaded": summary["loaded"], "bigquery_jobs": inserts,
                "seconds": round(seconds, 1), "latency": latency}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bigquery_latency", description=__doc__)
    parser.add_argument("--jobs", type=int, default=100, help="Jobs with new runs (default 100).")
    parser.add_argument("--runs-per-job", default="1,2", help="Fewest,most new runs per job (default 1,2).")
    parser.add_argument("--latency", type=float, default=1.5, help="Seconds added to each BigQuery job request.")
    args = parser.parse_args(argv)
    low, high = (int(x) for x in args.runs_per_job.split(","))
    result = measure(args.jobs, (low, high), args.latency)
    print("| jobs | runs in the cycle | loaded | BigQuery jobs | wall time (s) | latency per job (s) |")
    print("|---|---|---|---|---|---|")
    print(f"| {result['jobs']} | {result['runs']} | {result['loaded']} | {result['bigquery_jobs']} | "
          f"{result['seconds']} | {result['latency']} |")


if __name__ == "__main__":
    main(sys.argv[1:])
