"""Write a realistic prow bucket folder: the demo data and the benchmark data (DESIGN §2, §3).

Everything is drawn from `random.Random` instances seeded from the caller's seed and the job/run identity,
so one seed gives the same bytes, and the first N jobs' data do not change when more jobs are requested.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from job_run_aggregator.pipeline.sample_data.plan import PayloadSpec, Run, plan_runs, sample_job_names
from job_run_aggregator.pipeline.sample_data.plant import PlantedRegression, parse_planted_regression
from job_run_aggregator.pipeline.sample_data.plant import plant_regressions as plant
from job_run_aggregator.pipeline.sample_data.render import format_go_duration, render_run
from job_run_aggregator.pipeline.sample_data.shape import BENCHMARK_SHAPE, ArtifactShape

__all__ = ["BENCHMARK_SHAPE", "ArtifactShape", "PayloadSpec", "PlantedRegression", "SampleSummary",
           "format_go_duration", "generate_sample_data", "parse_planted_regression", "sample_job_names", "write_runs"]


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """What `generate_sample_data` wrote."""

    out: Path
    jobs: int
    runs: int
    unfinished: int
    payload_runs: int
    files: int
    total_bytes: int
    job_names: tuple[str, ...]
    payload_tag: str = ""
    aggregation_id: str = ""
    malformed_files: tuple[str, ...] = ()  # bucket-relative paths of the deliberately broken files

    def as_dict(self) -> dict[str, object]:
        """Render as JSON-ready data."""
        return {
            "out": str(self.out), "jobs": self.jobs, "runs": self.runs, "unfinished": self.unfinished,
            "payload_runs": self.payload_runs, "files": self.files, "total_bytes": self.total_bytes,
            "job_names": list(self.job_names), "payload_tag": self.payload_tag,
            "aggregation_id": self.aggregation_id, "malformed_files": list(self.malformed_files),
        }


def _write_run(out: str, run: Run, seed: int, shape: ArtifactShape | None = None) -> tuple[int, int, str]:
    """Write one run's files; return the file count, the byte count and the broken file's bucket path or ""."""
    prefix = f"logs/{run.job.name}/{run.build_id}/"
    files = render_run(run, seed, shape)
    for folder in dict.fromkeys(os.path.dirname(relative) for relative, _ in files):
        os.makedirs(os.path.join(out, prefix, folder), exist_ok=True)
    broken = ""
    for relative, data in files:
        with open(os.path.join(out, prefix + relative), "wb") as handle:
            handle.write(data)
        if run.is_malformed and not broken and "backend-disruption_" in relative:
            broken = prefix + relative  # only the first phase's file is cut short
    return len(files), sum(len(data) for _, data in files), broken


def generate_sample_data(out: Path, jobs: int = 12, days: int = 21, seed: int = 1, now: datetime | None = None,
                         runs_per_day: tuple[int, int] = (4, 8), payload: PayloadSpec | None = None,
                         malformed: int = 0, releases: tuple[str, ...] = ("4.14", "4.13"),
                         plant_regressions: Sequence[PlantedRegression] = (),
                         shape: ArtifactShape | None = None) -> SampleSummary:
    """Write a prow bucket folder `out/logs/<job>/<build-id>/…` of `days` days of runs ending at `now`.

    Existing files with the same paths are overwritten; nothing else in `out` is touched. `shape` adds junit
    cases and unrelated objects per run (see `shape.py`); without it the bytes are the demo's.
    """
    runs, payload_tag, aggregation_id = plan_runs(jobs, days, seed, now, runs_per_day, payload, malformed, releases)
    runs = plant(runs, plant_regressions)
    written = [_write_run(str(out), run, seed, shape) for run in runs]
    latest = {run.job.name: run.build_id for run in runs}
    for name, build_id in latest.items():
        # Prow keeps a pointer to the newest run beside the runs: listings must skip it.
        with open(os.path.join(out, "logs", name, "latest-build.txt"), "wb") as handle:
            handle.write(build_id.encode())
    return SampleSummary(
        out=Path(out), jobs=len(latest), runs=len(runs), unfinished=sum(run.end is None for run in runs),
        payload_runs=sum(bool(run.aggregation_id) for run in runs),
        files=sum(count for count, _, _ in written) + len(latest),
        total_bytes=sum(size for _, size, _ in written) + sum(map(len, latest.values())),
        job_names=tuple(latest), payload_tag=payload_tag, aggregation_id=aggregation_id,
        malformed_files=tuple(broken for _, _, broken in written if broken),
    )


def write_runs(out: Path, runs: list[Run], seed: int, shape: ArtifactShape | None = None) -> tuple[int, int]:
    """Write the given planned runs (a slice of `plan_runs`' output); return the file and byte counts.

    Benchmarks write a long history a slice at a time, ingest it and delete it, so the disk holds one slice.
    """
    written = [_write_run(str(out), run, seed, shape) for run in runs]
    return sum(count for count, _, _ in written), sum(size for _, size, _ in written)
