"""origin's rule sets ("presets"): which guessers, in which order, how many job runs a row needs, the no-data answer.

Three are built in because origin changed them and users still run every one: `2022` (32 guessers, no run counts,
2.718 s / 3.141 s defaults), `2023` (22 guessers, > 100 runs) and `current` (previous release only, ≥ 100 runs for
the exact key). More are added with `register_preset`, and parameterised families (`name:ARG`, e.g. a preset
calibrated for a target release) with `register_preset_family`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.matching.guessers import PREVIOUS, Guesser, guessers_2022
from job_run_aggregator.matching.keys import ALERT, BACKEND, JobType

# origin 2022's "no data" answers: greppable on purpose (origin leaves 2.718 unrounded "so we can find this").
DEFAULT_BACKEND_SECONDS = 2.718
DEFAULT_ALERT_SECONDS = 3.141


@dataclass(frozen=True, slots=True)
class Preset:
    """One of origin's rule sets: the guesser order, the job-run thresholds and the no-match answer."""

    name: str
    guessers: tuple[Guesser, ...]
    counts_runs: bool
    strict_exact: bool  # backends: exact needs JobRuns > min (else ≥); alerts always need ≥
    strict_fallback: bool  # backends: a fallback needs JobRuns > min (else ≥); alerts always need ≥
    default_backend: float | None  # P95 = P99 when nothing matched; None = no data
    default_alert: float | None

    def accepts(self, job_runs: int, kind: str, is_exact: bool, min_job_runs: int) -> bool:
        """Tell whether a present row has enough job runs to be used."""
        # origin compares with one constant (100) for both steps; `min_job_runs` replaces it in both.
        if not self.counts_runs:
            return True
        strict = kind == BACKEND and (self.strict_exact if is_exact else self.strict_fallback)
        return job_runs > min_job_runs if strict else job_runs >= min_job_runs

    def default_for(self, kind: str) -> float | None:
        return self.default_alert if kind == ALERT else self.default_backend


_ALL_2022 = guessers_2022()
PRESETS: dict[str, Preset] = {
    "2022": Preset("2022", _ALL_2022, False, False, False, DEFAULT_BACKEND_SECONDS, DEFAULT_ALERT_SECONDS),
    "2023": Preset(
        "2023", tuple(g for g in _ALL_2022 if "minor" not in g.name.split("+")), True, True, True, None, None
    ),
    "current": Preset("current", (PREVIOUS,), True, False, True, None, None),
}
RULES: tuple[str, ...] = ("current", "2023", "2022")  # the built-in names, in the order help texts list them
# `family:ARG` presets: the factory builds the preset for ARG (its name must be the full `family:ARG`).
PRESET_FAMILIES: dict[str, Callable[[str], Preset]] = {}


def register_preset(preset: Preset) -> None:
    """Make `preset` selectable by its name (`--rules NAME`)."""
    PRESETS[preset.name] = preset


def register_preset_family(family: str, factory: Callable[[str], Preset]) -> None:
    """Make `--rules FAMILY:ARG` select `factory(ARG)`; the factory raises ConfigError for a bad ARG."""
    PRESET_FAMILIES[family] = factory
    _family_preset.cache_clear()


def preset_for(rules: str) -> Preset:
    """Return the rule set named `rules` (a registered name or `family:ARG`).

    Raises:
        ConfigError: unknown name.
    """
    preset = PRESETS.get(rules)
    if preset is not None:
        return preset
    family, colon, argument = rules.partition(":")
    if colon and family in PRESET_FAMILIES:
        return _family_preset(family, argument)
    names = ", ".join([*RULES, *(n for n in PRESETS if n not in RULES), *(f"{f}:ARG" for f in PRESET_FAMILIES)])
    raise ConfigError(f"--rules {rules!r}: unknown rule set; choose one of {names}")


@lru_cache(maxsize=64)
def _family_preset(family: str, argument: str) -> Preset:
    # Cached so a family preset is one object per argument: the matcher memoises per preset name.
    return PRESET_FAMILIES[family](argument)


@lru_cache(maxsize=8192)
def guessed_job_types(rules: str, job_type: JobType) -> tuple[tuple[str, JobType | None], ...]:
    """Each guesser of a rule set applied to `job_type`, in order; cached because every backend of a run asks
    for the same JobType's chain."""
    return tuple((g.name, g(job_type)) for g in preset_for(rules).guessers)
