"""The Job Primer's I/O: read the Jobs table, apply a priming plan, list jobs (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from job_run_aggregator.config import DEFAULT_GCS_BUCKET
from job_run_aggregator.jobs.names import PrimingPlan, plan_priming, read_job_names
from job_run_aggregator.jobs.variants import DEFAULT_RELEASES
from job_run_aggregator.model import VARIANT_COLUMNS
from job_run_aggregator.warehouse.base import Warehouse

# The variant columns, plus IPMode: a Jobs column that query_results.json rows do not carry.
JOB_FILTERS = (*VARIANT_COLUMNS, "IPMode")

JOBS_SQL = "SELECT * FROM Jobs ORDER BY JobName"


def read_jobs(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    """Return every Jobs row keyed by JobName."""
    return {r["JobName"]: r for r in warehouse.query(JOBS_SQL)}


def prime_job_table(
    warehouse: Warehouse,
    job_names_text: str,
    releases: Sequence[str] = DEFAULT_RELEASES,
    update: bool = False,
    dry_run: bool = False,
    bucket_name: str = DEFAULT_GCS_BUCKET,
) -> PrimingPlan:
    """Insert the Jobs rows that are missing (and with `update`, rewrite rows whose derived variant changed)."""
    plan = plan_priming(read_job_names(job_names_text), read_jobs(warehouse), releases, bucket_name)
    if dry_run:
        return plan
    if plan.new:
        warehouse.load({"Jobs": list(plan.new)})
    if update and plan.updated:
        warehouse.replace("Jobs", [u.row for u in plan.updated])
    return plan


def list_jobs(warehouse: Warehouse, filters: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """Jobs rows whose variant columns equal every given filter (None = any)."""
    given = {k: v for k, v in filters.items() if v is not None}
    unknown = set(given) - set(JOB_FILTERS)
    if unknown:
        raise ValueError(f"unknown job filters {sorted(unknown)}")
    where = " AND ".join(f"{k} = @{k}" for k in given) or "TRUE"
    return warehouse.query(f"SELECT * FROM Jobs WHERE {where} ORDER BY JobName", given)
