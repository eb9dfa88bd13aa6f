"""Job name → `Variant`: the Job Primer's naming convention (DESIGN §5), pure.

Every rule is a case-sensitive substring test on the whole job name, in the order and with the precedence of
ci-tools' `jobtableprimer` (a name with both `gcp` and `aws` is gcp, `single` anywhere is single-node, `metal`
matches `baremetal`).

Release detection mirrors the Go rule (each known version that occurs in the name counts, Release is the highest,
FromRelease the lowest) with one guard: an occurrence embedded in a longer version number — preceded by a digit
or a dot, or followed by a digit — does not count. The Go tool never needed it, because its list (4.8 … 4.14) holds
no version that is a substring of another or of a micro version of another. Ours does: `5.1` sits inside
`4.15.1`, and a `--releases 4.1,4.10` list would read every 4.10 upgrade as "from 4.1". On the real names the
guard changes nothing (tests compare it with plain containment over the reference list).
"""

from __future__ import annotations

from collections.abc import Sequence

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.model import Release, Variant

# Newest first; 5.x before 4.x. None of these is a substring of another.
DEFAULT_RELEASES: tuple[str, ...] = tuple(f"5.{minor}" for minor in range(9, -1, -1)) + tuple(
    f"4.{minor}" for minor in range(22, 7, -1)
)

# First match wins, in this order (ci-tools jobtableprimer).
PLATFORMS: tuple[str, ...] = (
    "gcp",
    "aws",
    "azure",
    "metal",
    "vsphere",
    "ovirt",
    "openstack",
    "libvirt",
    "alibaba",
    "ibmcloud",
)
ARCHITECTURES: tuple[str, ...] = ("arm64", "ppc64le", "s390x")  # else amd64

def release_key(release: str) -> tuple[int, int]:
    """Return the numeric (major, minor) of an "N.M" release for ordering.

    Raises:
        ValueError: `release` is not N.M.
    """
    parsed = Release.parse(release)
    if parsed is None:
        raise ValueError(f"{release!r} is not a release of the form N.M")
    return parsed.major, parsed.minor


def mentions_release(name: str, release: str, prefix: str = "") -> bool:
    """Tell whether `prefix + release` occurs in `name` as a whole version (see the module docstring)."""
    needle = prefix + release
    start = name.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = name[start - 1] if start > 0 and not prefix else ""
        after = name[end] if end < len(name) else ""
        if not (before.isdigit() or before == ".") and not after.isdigit():
            return True
        start = name.find(needle, start + 1)
    return False


def releases_in(name: str, releases: Sequence[str] = DEFAULT_RELEASES) -> list[str]:
    """Return the known releases that `name` mentions, newest first."""
    found = {release for release in releases if mentions_release(name, release)}
    return sorted(found, key=release_key, reverse=True)


def variant_for(job_name: str, releases: Sequence[str] = DEFAULT_RELEASES) -> Variant:
    """Derive the Jobs variant of `job_name` by the §5 rules.

    Raises:
        InputError: the name mentions none of `releases`; the caller skips that job and reports it.
    """
    found = releases_in(job_name, releases)
    if not found:
        known = f"{releases[0]} … {releases[-1]}" if len(releases) > 1 else ", ".join(releases)
        raise InputError(
            f"no known release in the job name (looked for {known}; set the list with --releases); job skipped",
            path=job_name,
        )
    runs_upgrade = "upgrade" in job_name
    runs_serial = "serial" in job_name
    return Variant(
        job_name=job_name,
        platform=next((p for p in PLATFORMS if p in job_name), ""),
        architecture=next((a for a in ARCHITECTURES if a in job_name), "amd64"),
        network="ovn" if "ovn" in job_name else "sdn",
        ip_mode=_ip_mode(job_name),
        topology=_topology(job_name),
        release=found[0],
        # One version in an upgrade name is a micro upgrade: FromRelease = Release.
        from_release=found[-1] if runs_upgrade else "",
        runs_upgrade=runs_upgrade,
        runs_e2e_parallel=not runs_upgrade and not runs_serial,
        runs_e2e_serial=runs_serial,
    )


def _topology(job_name: str) -> str:
    if "single" in job_name:
        return "single"
    if "hypershift" in job_name:
        return "external"
    return "ha"


def _ip_mode(job_name: str) -> str:
    # The Go tool always wrote ipv4 although its docs promised detection (DESIGN §5.6); we detect.
    if "ipv6" in job_name:
        return "ipv6"
    if "dualstack" in job_name or "dual-stack" in job_name:
        return "dualstack"
    return "ipv4"


def parse_releases(text: str) -> tuple[str, ...]:
    """Parse a `--releases 4.12,4.13` value into distinct "N.M" releases, newest first.

    Raises:
        ConfigError: an item is not of the form N.M, or the list is empty.
    """
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise ConfigError(f"--releases {text!r}: no release given; expected a comma-separated list like 4.12,4.13")
    for item in items:
        if Release.parse(item) is None:
            raise ConfigError(f"--releases {text!r}: {item!r} is not a release of the form N.M (e.g. 4.14)")
    # Normalise "4.08" to "4.8": job names never pad the minor.
    unique = {f"{major}.{minor}" for major, minor in map(release_key, items)}
    return tuple(sorted(unique, key=release_key, reverse=True))
