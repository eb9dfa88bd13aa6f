"""What one run observed: its prowjob, disruption seconds per backend and alert seconds, read from a bucket.

Used by `check-run` (one run against the historical files) and `analyze-job-runs` (many runs of a payload).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from job_run_aggregator.artifacts.buckets.base import Bucket, open_run_folder
from job_run_aggregator.errors import InputError
from job_run_aggregator.model import Problem, ProwJob
from job_run_aggregator.artifacts.parse import (
    AlertKey,
    combine_alerts,
    combine_disruption,
    is_alerts_path,
    is_disruption_path,
    parse_alerts_file,
    parse_disruption_file,
    parse_prowjob,
)


@dataclass(slots=True)
class RunObservation:
    run_id: str
    prowjob: ProwJob | None
    disruption: dict[str, int] | None  # None: no backend-disruption file
    alerts: dict[AlertKey, int] | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_finished(self) -> bool:
        return self.prowjob is not None and self.prowjob.completion_time is not None


def observe_run(bucket: Bucket, run_prefix: str, read_data: bool = True) -> RunObservation:
    """Read a run's prowjob.json and (with `read_data`) its disruption and alert files (§3.1, §3.2 rules)."""
    run_prefix = run_prefix.strip("/")
    run_id = run_prefix.rsplit("/", 1)[-1]
    problems: list[Problem] = []
    prowjob = None
    pj_path = f"{run_prefix}/prowjob.json" if run_prefix else "prowjob.json"
    try:
        prowjob = parse_prowjob(bucket.read(pj_path), pj_path, build_id=run_id)
    except InputError as exc:
        problems.append(Problem(exc.path or pj_path, exc.reason))
    if not read_data:
        return RunObservation(run_id, prowjob, None, None, problems)
    disruption_files, alert_files = [], []
    for path in bucket.list_files(run_prefix):
        if not (is_disruption_path(path) or is_alerts_path(path)):
            continue
        try:
            data = bucket.read(path)
            if is_disruption_path(path):
                disruption_files.append(parse_disruption_file(data, path))
            else:
                alert_files.append(parse_alerts_file(data, path))
        except InputError as exc:
            problems.append(Problem(exc.path or path, exc.reason))
    return RunObservation(
        run_id,
        prowjob,
        combine_disruption(disruption_files) if disruption_files else None,
        combine_alerts(alert_files) if alert_files else None,
        problems,
    )


def open_run(location: str, anonymous: bool = False, credentials_file: str | None = None) -> tuple[Bucket, str]:
    """A run given as a local folder or `gs://bucket/logs/<job>/<id>` → (bucket, prefix within it)."""
    return open_run_folder(location, anonymous, credentials_file)
