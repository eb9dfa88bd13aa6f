"""Pure artifact parsers: bytes in, typed records out, `InputError(reason, path)` on bad input (DESIGN §2, §3)."""

from __future__ import annotations

from job_run_aggregator.artifacts.parse.alerts import (
    AlertKey,
    combine_alerts,
    inject_zero_alerts,
    is_alerts_path,
    parse_alerts_file,
)
from job_run_aggregator.artifacts.parse.cluster_data import is_cluster_data_path, parse_cluster_data
from job_run_aggregator.artifacts.parse.disruption import combine_disruption, is_disruption_path, parse_disruption_file
from job_run_aggregator.artifacts.parse.document import MAX_ARTIFACT_BYTES, read_capped
from job_run_aggregator.artifacts.parse.durations import parse_duration_ns, parse_duration_seconds
from job_run_aggregator.artifacts.parse.junit import is_junit_path, parse_junit
from job_run_aggregator.artifacts.parse.prowjob import parse_prowjob
from job_run_aggregator.artifacts.parse.started_finished import parse_started_finished

__all__ = [
    "MAX_ARTIFACT_BYTES",
    "AlertKey",
    "combine_alerts",
    "combine_disruption",
    "inject_zero_alerts",
    "is_alerts_path",
    "is_cluster_data_path",
    "is_disruption_path",
    "is_junit_path",
    "parse_alerts_file",
    "parse_cluster_data",
    "parse_disruption_file",
    "parse_duration_ns",
    "parse_duration_seconds",
    "parse_junit",
    "parse_prowjob",
    "parse_started_finished",
    "read_capped",
]
