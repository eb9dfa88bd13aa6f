"""Decide every run of the sample bucket (pure): jobs, start times, outcomes, payload tags, build ids."""

from __future__ import annotations

import bisect
import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.pipeline.sample_data.catalog import BUILD_ID_BASE, CLUSTERS, TEMPLATES


@dataclass(frozen=True, slots=True)
class PayloadSpec:
    """Extra runs of one job for one release payload (the input of aggregated analysis, DESIGN §9)."""

    runs: int = 10
    job: str = ""  # default: the first upgrade job generated
    tag: str = ""  # default: "<release>.0-0.<stream>-<date>" of a payload built just before the runs
    aggregation_id: str = ""  # default: a UUID drawn from the seed
    hours_ago: float = 5.0  # when the runs started; runs last up to 4 h, so 5 h ago means all finished
    disruption_factor: float = 1.0  # > 1 makes the payload worse than the job's history
    failing_tests: tuple[str, ...] = ()  # junit tests failing in every payload run (added when not in the catalog)
    flaky_tests: tuple[str, ...] = ()  # junit tests failing then passing (a retry) in every payload run


@dataclass(frozen=True, slots=True)
class Job:
    """One sample job: its name and the variant facts that shape its data."""

    name: str
    test: str
    platform: str
    architecture: str
    network: str
    topology: str
    release: str
    from_release: str
    upgrade: str  # "" | "micro" | "minor"
    stream: str  # "ci" | "nightly": the release-controller stream whose payloads it verifies
    index: int


@dataclass(frozen=True, slots=True)
class Run:
    """One planned run; its file contents are drawn later from a generator seeded by its identity."""

    job: Job
    build_id: str
    start: datetime
    end: datetime | None  # None: still running at `now`
    state: str
    cluster: str
    tag: str
    from_tag: str
    is_analysis: bool
    aggregation_id: str = ""
    is_install_failure: bool = False
    is_malformed: bool = False
    factor: float = 1.0  # disruption multiplier (PayloadSpec.disruption_factor)
    failing_tests: tuple[str, ...] = ()  # PayloadSpec.failing_tests, payload runs only
    flaky_tests: tuple[str, ...] = ()
    planted: tuple[tuple[str, float], ...] = ()  # (backend, seconds) added to its last disruption file (plant.py)


def _previous_release(release: str) -> str:
    major, minor = release.split(".")
    return f"{major}.{int(minor) - 1}"


def job_specs(n: int, releases: tuple[str, ...]) -> list[Job]:
    """Return the first `n` jobs: each template in turn, releases alternating, then the other release."""
    jobs: list[Job] = []
    cycle = 0
    while len(jobs) < n:
        for shift in range(len(releases)):
            for i, (prefix, test, platform, arch, network, topology) in enumerate(TEMPLATES):
                if len(jobs) == n:
                    return jobs
                release = releases[(i + shift) % len(releases)]
                previous = _previous_release(release)
                name = f"periodic-ci-openshift-{prefix.format(r=release, p=previous)}-{test}"
                upgrade = "minor" if "{p}" in prefix else "micro" if "upgrade" in test else ""
                jobs.append(Job(
                    name=name + (f"-{cycle + 1}" if cycle else ""), test=test, platform=platform,
                    architecture=arch, network=network, topology=topology, release=release,
                    from_release={"minor": previous, "micro": release}.get(upgrade, ""), upgrade=upgrade,
                    stream="ci" if "-ci-" in prefix else "nightly", index=len(jobs),
                ))
        cycle += 1
    return jobs


def sample_job_names(n: int, releases: tuple[str, ...] = ("4.14", "4.13")) -> list[str]:
    """Return the first `n` job names `generate_sample_data` uses (for a `prime-job-table` input file)."""
    check_releases(releases)
    return [job.name for job in job_specs(n, releases)]


def check_releases(releases: tuple[str, ...]) -> None:
    """Raise ConfigError unless the releases are distinct `<major>.<minor>` versions with a previous minor."""
    for release in releases:
        major, _, minor = release.partition(".")
        if not (major.isdigit() and minor.isdigit() and int(minor) > 0):
            raise ConfigError(f"sample data: release {release!r} is not of the form <major>.<minor>, e.g. 4.14")
    if not releases or len(set(releases)) != len(releases):
        raise ConfigError(f"sample data: releases {list(releases)} must be one or more distinct versions")


def _payload_times(seed: int, release: str, stream: str, start: datetime, end: datetime) -> list[datetime]:
    """When the release controller built payloads of this stream: every 2.5 to 7 hours."""
    rng = random.Random(f"{seed}:payloads:{release}:{stream}")
    times, t = [], start - timedelta(hours=12)
    while t < end:
        t += timedelta(seconds=rng.randint(9_000, 25_200))
        times.append(t)
    return times


def payload_tag_of(job: Job, built: datetime) -> str:
    """Name a payload like the release controller: 4.14.0-0.nightly-2026-11-27-101010."""
    return f"{job.release}.0-0.{job.stream}-{built:%Y-%m-%d-%H%M%S}"


def _from_tag(job: Job, payloads: list[datetime], built_index: int, rng: random.Random) -> str:
    if job.upgrade == "minor":
        return f"{job.from_release}.{rng.randint(8, 14)}"
    if job.upgrade == "micro":
        return payload_tag_of(job, payloads[max(0, built_index - rng.randint(1, 3))])
    return ""


def _duration(job: Job, rng: random.Random) -> timedelta:
    low, high = {"minor": (150, 240), "micro": (120, 210)}.get(job.upgrade, (75, 150))
    if not job.upgrade and ("serial" in job.test or job.platform == "metal"):
        low, high = low + 30, high + 30
    return timedelta(seconds=rng.randint(low * 60, high * 60))


def _plan_job(job: Job, seed: int, now: datetime, days: int, runs_per_day: tuple[int, int],
              payload: PayloadSpec | None, payload_tag: str, aggregation_id: str) -> list[Run]:
    rng = random.Random(f"{seed}:{job.name}")
    window_start = now - timedelta(days=days)
    payloads = _payload_times(seed, job.release, job.stream, window_start, now)
    starts: list[tuple[datetime, float | None]] = []  # (start, disruption factor of a payload run)
    for day in range(days):
        day_start = window_start + timedelta(days=day)
        count = rng.randint(*runs_per_day)
        step = 86_400 / count
        starts += [(day_start + timedelta(seconds=int(i * step + rng.uniform(0, 0.6 * step))), None)
                   for i in range(count)]
    if payload is not None:
        first = now - timedelta(hours=payload.hours_ago)
        starts += [(first + timedelta(seconds=i * 60 + rng.randint(0, 50)), payload.disruption_factor)
                   for i in range(payload.runs)]
    runs: list[Run] = []
    last_id = 0
    failure_chance = 0.10 + 0.08 * bool(job.upgrade) + 0.08 * (job.topology == "single" or job.platform == "metal")
    for start, factor in sorted(starts, key=lambda s: s[0]):
        is_payload = factor is not None
        is_failure = rng.random() < failure_chance
        is_install_failure = is_failure and not is_payload and rng.random() < 0.25
        duration = timedelta(minutes=rng.randint(40, 70)) if is_install_failure else _duration(job, rng)
        end = start + duration
        is_finished = end <= now
        built_index = bisect.bisect_right(payloads, start - timedelta(minutes=5)) - 1
        tag = from_tag = ""
        if is_payload:
            tag = payload_tag
        if (is_payload or rng.random() < 0.5) and built_index >= 0:
            tag = tag or payload_tag_of(job, payloads[built_index])
            from_tag = _from_tag(job, payloads, built_index, rng)
        last_id = max(last_id + 1, BUILD_ID_BASE + int(start.timestamp() * 1000) * 1000 + job.index % 1000)
        runs.append(Run(
            job=job, build_id=str(last_id), start=start, end=end if is_finished else None,
            state=("failure" if is_failure else "success") if is_finished else "pending",
            cluster=rng.choice(CLUSTERS.get(job.platform, ("build01", "build02", "build03", "build04", "build05"))),
            tag=tag, from_tag=from_tag, is_analysis=is_payload or (bool(tag) and rng.random() < 0.3),
            aggregation_id=aggregation_id if is_payload else "", is_install_failure=is_install_failure,
            factor=1.0 if factor is None else factor,
            failing_tests=payload.failing_tests if is_payload and payload else (),
            flaky_tests=payload.flaky_tests if is_payload and payload else (),
        ))
    return runs


def random_uuid(rng: random.Random) -> str:
    """Draw a version-4 UUID from `rng` (uuid.uuid4 would not be reproducible)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _check_arguments(jobs: int, days: int, runs_per_day: tuple[int, int], payload: PayloadSpec | None,
                     malformed: int) -> None:
    if jobs < 1 or days < 1:
        raise ConfigError(f"sample data: jobs ({jobs}) and days ({days}) must be at least 1")
    low, high = runs_per_day
    if not 1 <= low <= high <= 1000:
        raise ConfigError(f"sample data: runs per day {low}-{high} must satisfy 1 <= low <= high <= 1000")
    if payload is not None and (payload.runs < 1 or payload.hours_ago <= 0):
        raise ConfigError(f"sample data: a payload needs at least 1 run started in the past, got {payload.runs} "
                          f"runs {payload.hours_ago} hours ago")
    if malformed < 0:
        raise ConfigError(f"sample data: malformed ({malformed}) must not be negative")


def plan_runs(jobs: int = 12, days: int = 21, seed: int = 1, now: datetime | None = None,
              runs_per_day: tuple[int, int] = (4, 8), payload: PayloadSpec | None = None, malformed: int = 0,
              releases: tuple[str, ...] = ("4.14", "4.13")) -> tuple[list[Run], str, str]:
    """Decide every run (pure); return the runs, the payload tag and the aggregation id."""
    _check_arguments(jobs, days, runs_per_day, payload, malformed)
    check_releases(releases)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    specs = job_specs(jobs, releases)
    payload_job, payload_tag, aggregation_id = None, "", ""
    if payload is not None:
        upgrades = [job for job in specs if job.upgrade] or specs
        payload_job = next((job for job in specs if job.name == payload.job), None) if payload.job else upgrades[0]
        if payload_job is None:
            raise ConfigError(f"sample data: payload job {payload.job!r} is not among the {jobs} generated jobs; "
                              "pick one of sample_job_names()")
        rng = random.Random(f"{seed}:payload")
        built = now - timedelta(hours=payload.hours_ago, minutes=rng.randint(20, 90))
        payload_tag = payload.tag or payload_tag_of(payload_job, built)
        aggregation_id = payload.aggregation_id or random_uuid(rng)
    runs = [run for job in specs for run in _plan_job(job, seed, now, days, runs_per_day,
                                                      payload if job is payload_job else None,
                                                      payload_tag, aggregation_id)]
    candidates = [i for i, run in enumerate(runs) if run.end is not None and not run.is_install_failure]
    if malformed > len(candidates):
        raise ConfigError(f"sample data: malformed ({malformed}) exceeds the {len(candidates)} runs with artifacts")
    for i in random.Random(f"{seed}:malformed").sample(candidates, malformed):
        runs[i] = replace(runs[i], is_malformed=True)
    return runs, payload_tag, aggregation_id
