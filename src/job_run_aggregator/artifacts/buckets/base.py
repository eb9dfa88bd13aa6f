"""The artifact-store seam: list run folders after a build id, list a run's files, read an object."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from job_run_aggregator.errors import ConfigError


class RefusedPath(str):
    """A listed entry the bucket will not read (a symlink out of the bucket, a FIFO or device, …), with the reason.

    Listings yield these instead of dropping them silently, so the uploader records them in LoadProblems.
    """

    reason: str

    def __new__(cls, path: str, reason: str) -> RefusedPath:
        self = super().__new__(cls, path)
        self.reason = reason
        return self


class Bucket(Protocol):
    """A prow-shaped bucket. Paths are '/'-separated and relative to the bucket root."""

    name: str
    url: str

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


def open_bucket(url: str, anonymous: bool = False, credentials_file: str | None = None) -> Bucket:
    """Open `gs://BUCKET` or a local folder (`file:///path` or a plain path)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "file", url
    opener = _OPENERS.get(scheme)
    if opener is None:
        raise ConfigError(f"bucket URL {url!r} not understood; use a folder path, file:///PATH or gs://BUCKET")
    return opener(rest, anonymous=anonymous, credentials_file=credentials_file)


def _open_local(rest: str, **_: object) -> Bucket:
    from job_run_aggregator.artifacts.buckets.local import LocalBucket

    return LocalBucket(rest)


def _open_gcs(rest: str, anonymous: bool = False, credentials_file: str | None = None) -> Bucket:
    from job_run_aggregator.artifacts.buckets.gcs import GCSBucket

    return GCSBucket(rest.strip("/"), anonymous=anonymous, credentials_file=credentials_file)


_OPENERS: dict[str, Callable[..., Bucket]] = {"file": _open_local, "gs": _open_gcs}
