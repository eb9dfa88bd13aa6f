"""The keys a historical row is looked up by: origin's platformidentification.JobType and historicaldata.DataKey."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from job_run_aggregator.jobs.variants import DEFAULT_RELEASES, variant_for
from job_run_aggregator.model import VARIANT_COLUMNS

BACKEND = "backend"
ALERT = "alert"
# The six JobType fields in origin's order: Go's struct field names, which are also the query_results columns.
JOB_TYPE_FIELDS: tuple[str, ...] = VARIANT_COLUMNS  # origin's JobType fields are the files' variant columns


@dataclass(frozen=True, slots=True)
class JobType:
    """origin's platformidentification.JobType: the six variant fields a historical row is keyed on."""

    release: str
    from_release: str
    platform: str
    architecture: str
    network: str
    topology: str

    def go_repr(self) -> str:
        """Render like Go's `%#v` of a platformidentification.JobType."""
        # Imported here: golang.py renders these types, so it imports this module.
        from job_run_aggregator.matching.golang import go_job_type

        return go_job_type(self)

    def values(self) -> tuple[str, str, str, str, str, str]:
        return (self.release, self.from_release, self.platform, self.architecture, self.network, self.topology)

    def short(self) -> str:
        """A compact human form: `4.12 from 4.11 aws amd64 ovn ha`."""
        shown = [v or '""' for v in self.values()]
        upgrade = f" from {shown[1]}" if self.from_release else ""
        return f"{shown[0]}{upgrade} {' '.join(shown[2:])}"


@dataclass(frozen=True, slots=True)
class DataKey:
    """A historical row's key; namespace and level are "" for backends and for alert data without them."""

    name: str
    job_type: JobType
    namespace: str = ""
    level: str = ""

    def to_json(self) -> dict[str, str]:
        fields = zip(JOB_TYPE_FIELDS, self.job_type.values(), strict=True)
        return {"name": self.name, **dict(fields)}


def job_type_for(job_name: str, releases: Sequence[str] = DEFAULT_RELEASES) -> JobType:
    """Derive the JobType of a job from its name by the Job Primer rules (DESIGN §5).

    Raises:
        InputError: the name mentions no known release.
    """
    variant = variant_for(job_name, releases)
    return JobType(
        variant.release,
        variant.from_release,
        variant.platform,
        variant.architecture,
        variant.network,
        variant.topology,
    )
