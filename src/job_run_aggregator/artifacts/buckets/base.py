"""The artifact-store seam: list run folders after a build id, list a run's files, read an object."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, Self

from job_run_aggregator.errors import ConfigError, InputError

# Concurrent run reads of an upload when --workers (Settings.workers) is not given: the bucket's `default_workers`.
# Measured (benchmarks/RESULTS.md, benchmarks 8 and 8b): from GCS, with 30–80 ms per request, 32 is the smallest
# count reaching 90% of the best throughput on 2 cores; from a local folder in the page cache reads are CPU-bound
# and more readers only contend for the GIL (2,000 runs: 32 readers 1.6–1.8x the time of 1–2), while a cold cache
# gains from a second one (1 reader 6.0 s, 2: 4.4 s), so 2.
DEFAULT_WORKERS = 32
LOCAL_WORKERS = 2


def workers_for(bucket: Bucket, workers: int | None) -> int:
    """The read concurrency of an upload: `workers` when given, else the bucket's measured default."""
    return max(1, workers) if workers is not None else bucket.default_workers


class RefusedPath(str):
    """A listed entry the bucket will not read (a symlink out of the bucket, a FIFO or device, …), with the reason.

    Listings yield these instead of dropping them silently, so the uploader records them in LoadProblems.
    """

    reason: str

    def __new__(cls, path: str, reason: str) -> Self:
        self = super().__new__(cls, path)
        self.reason = reason
        return self


class Bucket(Protocol):
    """A prow-shaped bucket. Paths are '/'-separated and relative to the bucket root."""

    name: str
    url: str
    is_local: bool  # a folder on this machine (files can be shown directly), not a remote object store
    default_workers: int  # concurrent run reads when none are asked for (DEFAULT_WORKERS, LOCAL_WORKERS)

    def list_dirs(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Yield the names of the immediate sub-folders of `prefix`, sorted, after `start_after`.

        A sub-folder that cannot be entered (a symlink) is yielded as a `RefusedPath`.
        """
        ...

    def list_files(self, prefix: str, match_glob: str | None = None) -> Iterator[str]:
        """Yield the paths of every object under `prefix`, recursively; entries not readable as `RefusedPath`.

        `match_glob` (GCS glob syntax, a path from the bucket root) is a hint: a store may list only the objects
        matching it, or ignore it; callers filter what they get either way.
        """
        ...

    def read(self, path: str) -> bytes:
        """The object's bytes (at most MAX_ARTIFACT_BYTES); ObjectMissing when it is gone, InputError if refused."""
        ...

    def browse_url(self, path: str) -> str:
        """A URL a person can open to see `path` (folder or object)."""
        ...

    def allow_concurrency(self, workers: int) -> None:
        """Get ready for `workers` threads reading at once, plus one listing (a GCS client sizes its HTTP pool)."""
        ...


def parse_bucket_url(url: str) -> tuple[str, str]:
    """Split `gs://BUCKET`, `file:///path` or a plain folder path into (scheme, rest)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "file", url
    if scheme not in _OPENERS:
        raise ConfigError(f"bucket URL {url!r} not understood; use a folder path, file:///PATH or gs://BUCKET")
    return scheme, rest


def open_bucket(url: str, anonymous: bool = False, credentials_file: str | None = None) -> Bucket:
    """Open `gs://BUCKET` or a local folder (`file:///path` or a plain path)."""
    scheme, rest = parse_bucket_url(url)
    return _OPENERS[scheme](rest, anonymous=anonymous, credentials_file=credentials_file)


def is_local_bucket(url: str) -> bool:
    """Tell whether `url` names a folder on this machine (without opening it: no client, no credentials)."""
    return parse_bucket_url(url)[0] in _LOCAL_SCHEMES


def open_run_folder(location: str, anonymous: bool = False, credentials_file: str | None = None) -> tuple[Bucket, str]:
    """A run given as a local folder or `gs://bucket/logs/<job>/<id>` → (bucket, prefix within it).

    Raises:
        InputError: a local run folder that does not exist.
    """
    scheme, rest = parse_bucket_url(location)
    if scheme not in _LOCAL_SCHEMES:
        bucket_name, _, prefix = rest.partition("/")
        return open_bucket(f"{scheme}://{bucket_name}", anonymous, credentials_file), prefix.strip("/")
    if not Path(rest).is_dir():
        raise InputError("run folder not found", path=location)
    return open_bucket(location), ""


def _open_local(rest: str, **_: object) -> Bucket:
    from job_run_aggregator.artifacts.buckets.local import LocalBucket

    return LocalBucket(rest)


def _open_gcs(rest: str, anonymous: bool = False, credentials_file: str | None = None) -> Bucket:
    from job_run_aggregator.artifacts.buckets.gcs import GCSBucket

    return GCSBucket(rest.strip("/"), anonymous=anonymous, credentials_file=credentials_file)


_OPENERS: dict[str, Callable[..., Bucket]] = {"file": _open_local, "gs": _open_gcs}
_LOCAL_SCHEMES = frozenset({"file"})  # the schemes whose buckets are LocalBucket (is_local)
