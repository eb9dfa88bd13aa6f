"""The eras of the aggregated analysis' rules (DESIGN §9.1), each selectable by name.

`2023-02` is the rule set DESIGN §9 describes (table − 1); `2023-10` adds what upstream changed during 2023
(MasterNodesUpdated-matched history, the previous-release fallback, the long exclusion list, grace, and P95 and
zero-disruption removed); `current` adds the single-node skip (2024-08) and the pity factor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from job_run_aggregator.errors import ConfigError

# Backends excluded by substring: they produce no testcase at all (not even a skipped one).
EXCLUDED_2023_02 = ("ci-cluster-network-liveness",)
EXCLUDED_LATER = (
    *EXCLUDED_2023_02,
    "-network-liveness",
    "kube-api-http1-external-lb",
    "kube-api-http2-external-lb",
    "openshift-api-http2-external-lb",
    "host-to-service",
    "host-to-host",
    "host-to-pod",
    "pod-to-host",
    "pod-to-pod",
    "pod-to-service",
    "-localhost-",
    "-internal-lb-",
)
GRACE_SECONDS = {70: 3.0, 85: 7.0}  # the second look of a missed percentile check (2023)
PREVIOUS_RELEASE_MIN_RUNS = 100  # fewer history runs than this ⇒ the previous release's job (2023-06)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """What one era of upstream's analyzer did; every difference between eras is a field here."""

    name: str
    percentiles: tuple[int, ...]  # the Pk checks
    zero_check: bool  # the zero-disruption check
    excluded_substrings: tuple[str, ...]
    grace: Mapping[int, float] = field(default_factory=dict)  # percentile → added seconds on the second look
    master_nodes_matched: bool = False  # history filtered to the payload's MasterNodesUpdated
    previous_release_fallback: bool = False
    skip_single_node: bool = False
    pity: bool = False  # required = min(max(0, attempts − 2), table), the − 1 only when pity did not lower it
    panic_fails: bool = False  # "Undiagnosed panic detected in pod" with any failure fails
    informing_never_fails: bool = False

    def is_excluded(self, backend: str) -> bool:
        """Tell whether `backend` is excluded by this era's substring list (no testcase at all)."""
        return any(part in backend for part in self.excluded_substrings)


RULE_SETS: dict[str, RuleSet] = {
    "2023-02": RuleSet("2023-02", (70, 85, 95), True, EXCLUDED_2023_02),
    "2023-10": RuleSet(
        "2023-10", (70, 85), False, EXCLUDED_LATER, GRACE_SECONDS, master_nodes_matched=True,
        previous_release_fallback=True,
    ),
    "current": RuleSet(
        "current", (70, 85), False, EXCLUDED_LATER, GRACE_SECONDS, master_nodes_matched=True,
        previous_release_fallback=True, skip_single_node=True, pity=True, panic_fails=True, informing_never_fails=True,
    ),
}
RULE_NAMES = tuple(RULE_SETS)


def rules_for(name: str | RuleSet) -> RuleSet:
    """Return the era called `name` (`2023-02`, `2023-10`, `current`).

    Raises:
        ConfigError: an unknown name.
    """
    if isinstance(name, RuleSet):
        return name
    try:
        return RULE_SETS[name]
    except KeyError:
        raise ConfigError(f"--rules {name!r}: unknown rule set; choose one of {', '.join(RULE_NAMES)}") from None


def percentile_requirement(table: int, attempts: int, rules: RuleSet) -> int:
    """Passes a percentile check requires from the table entry: table − 1, or the pity factor where it is lower.

    With pity, required = min(max(0, attempts − 2), table), and the − 1 applies only when pity did not already
    lower it. Since table entries for 3 or more attempts never exceed attempts − 1, pity equals table − 1 there.
    """
    if rules.pity:
        pity = max(0, attempts - 2)
        if pity < table:
            return pity
    return table - 1


def junit_requirement(table: int, attempts: int, rules: RuleSet) -> int:
    """Passes a junit test requires from the table entry (§9.2): the entry itself, capped by pity today."""
    if rules.pity:
        return min(max(0, attempts - 2), table)
    return table

