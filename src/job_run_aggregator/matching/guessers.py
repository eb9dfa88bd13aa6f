"""origin's "next best guessers": named JobType rewrites tried in order when the exact key has no data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from job_run_aggregator.matching.keys import JobType
from job_run_aggregator.model import Release


@dataclass(frozen=True, slots=True)
class Guesser:
    """A named JobType rewrite; `apply` returns None when the guess does not apply."""

    name: str
    apply: Callable[[JobType], JobType | None]

    def __call__(self, job_type: JobType) -> JobType | None:
        return self.apply(job_type)


@lru_cache(maxsize=256)
def _major_minor(release: str) -> tuple[int, int] | None:
    # Go's getMajor/getMinor read the first two dot-separated fields ("4.12.3" is 4, 12) and panic on anything
    # else; an unparseable release makes the guess not applicable instead.
    parsed = Release.parse(release, leading=True)
    return (parsed.major, parsed.minor) if parsed else None


def _micro(job_type: JobType) -> JobType | None:
    to, source = _major_minor(job_type.release), _major_minor(job_type.from_release)
    # origin compares minors only: a 3.12 → 4.12 "upgrade" already counts as micro.
    if not job_type.from_release or to is None or source is None or source[1] == to[1]:
        return None
    return replace(job_type, from_release=f"{to[0]}.{to[1]}")


def _minor(job_type: JobType) -> JobType | None:
    to, source = _major_minor(job_type.release), _major_minor(job_type.from_release)
    if not job_type.from_release or to is None or source is None or source[1] == to[1] - 1 or to[1] == 0:
        return None
    return replace(job_type, from_release=f"{to[0]}.{to[1] - 1}")


def _previous(job_type: JobType) -> JobType | None:
    to = _major_minor(job_type.release)
    # Go would print "5.-1" for the release before 5.0; no data carries such a key, so say "not applicable".
    if to is None or to[1] == 0:
        return None
    from_release = job_type.from_release
    if from_release:
        source = _major_minor(from_release)
        if source is None or source[1] == 0:
            return None
        from_release = f"{to[0]}.{source[1] - 1}"
    return replace(job_type, release=f"{to[0]}.{to[1] - 1}", from_release=from_release)


def _sdn(job_type: JobType) -> JobType | None:
    return None if job_type.network == "sdn" else replace(job_type, network="sdn")


def _single(job_type: JobType) -> JobType | None:
    return job_type if job_type.topology == "single" else None


MICRO = Guesser("micro", _micro)
MINOR = Guesser("minor", _minor)
PREVIOUS = Guesser("previous", _previous)
SDN = Guesser("sdn", _sdn)
SINGLE = Guesser("single", _single)


def arch(architecture: str) -> Guesser:
    """Guess the same job on `architecture`; not applicable when it already runs there."""

    def apply(job_type: JobType) -> JobType | None:
        return None if job_type.architecture == architecture else replace(job_type, architecture=architecture)

    return Guesser(f"arch({architecture})", apply)


def combine(*guessers: Guesser) -> Guesser:
    """Chain guessers left to right; not applicable as soon as one step is."""

    def apply(job_type: JobType) -> JobType | None:
        current = job_type
        for guesser in guessers:
            step = guesser(current)
            if step is None:
                return None
            current = step
        return current

    return Guesser("+".join(g.name for g in guessers), apply)


def guessers_2022() -> tuple[Guesser, ...]:
    """origin's 2022 list: release rewrites, then each architecture with them, then single-node → SDN."""
    arches = [arch(a) for a in ("amd64", "ppc64le", "s390x", "arm64")]
    tails: list[tuple[Guesser, ...]] = [(MICRO,), (MINOR,), (PREVIOUS,), (PREVIOUS, MICRO), (PREVIOUS, MINOR)]
    return (
        MICRO,
        MINOR,
        PREVIOUS,
        combine(PREVIOUS, MICRO),
        combine(PREVIOUS, MINOR),
        *arches,
        *(combine(a, *tail) for tail in tails for a in arches),
        combine(SINGLE, SDN),
        combine(SINGLE, SDN, PREVIOUS),
        combine(SINGLE, SDN, PREVIOUS, MICRO),
    )
