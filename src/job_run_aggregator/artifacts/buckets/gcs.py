"""Google Cloud Storage bucket; anonymous for public buckets, STORAGE_EMULATOR_HOST honoured."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from job_run_aggregator import network
from job_run_aggregator.artifacts.buckets.base import DEFAULT_WORKERS
from job_run_aggregator.artifacts.parse.document import MAX_ARTIFACT_BYTES, render_limit
from job_run_aggregator.errors import ConfigError, InputError, JraError, ObjectMissing, TransientError
from job_run_aggregator.retry import retry_call

T = TypeVar("T")

DEFAULT_POOL_SIZE = 10  # requests' HTTPAdapter: idle connections kept per host

try:
    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc
    from google.cloud import storage  # type: ignore[attr-defined]  # untyped namespace package
except ImportError:  # pragma: no cover - exercised only without the extra
    storage = None


def translate_error(exc: Exception, what: str) -> JraError | None:
    """Map client/network exceptions onto our tree at this one edge (None: a bug, let it through)."""
    if storage is None:
        return None
    if isinstance(exc, gexc.NotFound):
        return ObjectMissing("object not found", path=what)
    if isinstance(exc, (gexc.TooManyRequests, gexc.ServerError, gexc.RequestRangeNotSatisfiable)):
        return TransientError(f"{what}: GCS answered {exc.code}")
    if isinstance(exc, (requests.exceptions.RequestException, ConnectionError, TimeoutError)):
        return TransientError(f"{what}: network error ({type(exc).__name__})")
    name = type(exc).__name__
    if name in {"DataCorruption", "InvalidResponse", "IncompleteRead", "ProtocolError"}:
        # A truncated or corrupted body (checksum mismatch): read it again.
        return TransientError(f"{what}: incomplete or corrupted download ({name})")
    if isinstance(exc, auth_exc.TransportError) or (isinstance(exc, auth_exc.RefreshError) and exc.retryable):
        return TransientError(f"{what}: cannot get an access token from Google ({type(exc).__name__})")
    if isinstance(exc, auth_exc.RefreshError):
        # Its text is the token endpoint's answer; name the problem, not the exchange.
        return ConfigError(f"{what}: the token endpoint refused the credentials; check the service-account key")
    if isinstance(exc, gexc.Forbidden | gexc.Unauthorized):
        return ConfigError(f"{what}: access denied by GCS; check the credentials or use a public bucket")
    return None


class GCSBucket:
    is_local = False
    default_workers = DEFAULT_WORKERS

    def __init__(self, bucket: str, anonymous: bool = False, credentials_file: str | None = None,
                 client: Any = None) -> None:
        if storage is None:
            raise ConfigError("GCS support is not installed; run: pip install 'job-run-aggregator[gcs]'")
        self.name = bucket
        self.url = f"gs://{bucket}"
        self.client = client or _make_client(anonymous, credentials_file)
        # Every request gets connect/read timeouts and a size-aware deadline (network.py): the client's own
        # 60 s read timeout restarts with each byte, so a slow body could hold a run for as long as it lasts.
        network.bound_session(self.client._http)
        # google-cloud-storage >= 3.x fetches bucket metadata in a background thread for its own telemetry, with
        # its default retry (120 s); nothing here needs it, so no request leaves outside our retry budget.
        if getattr(self.client, "_bucket_metadata_cache", None) is not None:
            self.client._bucket_metadata_cache = None
        self.bucket = self.client.bucket(bucket)
        self.max_bytes = MAX_ARTIFACT_BYTES
        # Sizes from the last listings: an object over the cap is refused before its download starts.
        self._sizes: dict[str, int] = {}
        self.match_glob_honoured: bool | None = None  # None: not seen yet; False: ignored or refused, not sent
        self._pool_size = DEFAULT_POOL_SIZE

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        # The client's own retry layer is switched off at every call (retry=None): it would retry for up to
        # 120 s per call behind our backs and resume cut downloads with range requests whose checksum is never
        # verified. One layer, ours, with a known budget (retry.DEFAULT_ATTEMPTS), re-reads whole objects.
        def attempt() -> T:
            with network.operation(what) as op:
                try:
                    return fn()
                except Exception as exc:
                    mapped = op.check(exc) or translate_error(exc, what)
                    if mapped is None:
                        raise
                    raise mapped from exc

        return retry_call(attempt, what=what)

    def list_dirs(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        prefix = prefix.rstrip("/") + "/"
        # start_offset is inclusive and compares whole object names; every object of folder `X/` sorts
        # before `X0` ('0' is the character after '/'), so this skips the folder and everything before it.
        offset = f"{prefix}{start_after}0" if start_after else None

        def page_all() -> list[str]:
            it = self.client.list_blobs(self.bucket, prefix=prefix, delimiter="/", start_offset=offset, retry=None)
            for _ in it:  # prefixes are filled in while iterating pages
                pass
            return sorted(p[len(prefix):].rstrip("/") for p in it.prefixes)

        for name in self._call(f"gs://{self.name}/{prefix}", page_all):
            if start_after is None or name > start_after:
                yield name

    def list_files(self, prefix: str, match_glob: str | None = None) -> Iterator[str]:
        prefix = prefix.rstrip("/") + "/"
        # A real run folder holds thousands of objects (pod logs, must-gather) and a list page holds 1,000: with
        # matchGlob GCS lists only the few the uploaders read, one request per run. fake-gcs-server ignores the
        # parameter, and a server may refuse it: then it is not sent again and callers filter as before.
        glob = match_glob if self.match_glob_honoured is not False else None

        def listing() -> list[tuple[str, int | None]]:
            try:
                return [(b.name, b.size) for b in self.client.list_blobs(self.bucket, prefix=prefix, match_glob=glob,
                                                                         retry=None)]
            except gexc.BadRequest:
                if glob is None:
                    raise
                self.match_glob_honoured = False
                return [(b.name, b.size) for b in self.client.list_blobs(self.bucket, prefix=prefix, retry=None)]

        blobs = self._call(f"gs://{self.name}/{prefix}", listing)
        if glob is not None and self.match_glob_honoured is not False:
            pattern = glob_regex(glob)
            self.match_glob_honoured = all(pattern.fullmatch(name) for name, _ in blobs)
        if len(self._sizes) > 100_000:
            self._sizes.clear()
        for name, size in blobs:
            if size is not None:
                self._sizes[name] = size
            yield name

    def read(self, path: str) -> bytes:
        size = self._sizes.get(path)
        if size is not None and size > self.max_bytes:
            raise InputError(f"file is {size} bytes, over the {render_limit(self.max_bytes)} limit; not read", path)
        # "auto" is crc32c (with its C extension), which GCS sends for every object; md5 is missing for
        # composite objects, whose truncated bodies would then pass unchecked.
        return self._call(
            f"gs://{self.name}/{path}",
            lambda: self.bucket.blob(path).download_as_bytes(checksum="auto", retry=None),
        )

    def browse_url(self, path: str) -> str:
        return f"https://prow.ci.openshift.org/view/gs/{self.name}/{path.strip('/')}"

    def allow_concurrency(self, workers: int) -> None:
        """Keep up to `workers` + 1 connections open for reuse (the readers and one listing thread).

        The client's session is a requests.Session whose adapters keep at most 10 idle connections per host: with
        more threads, every connection returned while 10 are idle is closed ("Connection pool is full, discarding
        connection"), and the next burst of requests opens new ones, a TCP and TLS handshake each. Mounting larger
        adapters keeps them; the pool only holds connections that were opened, so a large size costs nothing
        unused. Never shrinks the pool.
        """
        size = workers + 1
        if size <= self._pool_size:
            return
        session = self.client._http
        for scheme in ("https://", "http://"):
            old = session.adapters.get(scheme)
            # No retries of the adapter's own (requests' default, 0): ours own the budget (retry.py).
            session.mount(scheme, requests.adapters.HTTPAdapter(pool_maxsize=size))
            if old is not None:
                old.close()
        self._pool_size = size


def glob_regex(glob: str) -> re.Pattern[str]:
    """GCS matchGlob syntax as a regular expression (`**` any characters, `*`/`?` within one folder level,
    `[...]` a character class, `{a,b}` alternatives)."""
    out, i, depth = [], 0, 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = glob.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : end]
                out.append("[" + ("^" + re.escape(body[1:]) if body.startswith("!") else re.escape(body)) + "]")
                i = end
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _make_client(anonymous: bool, credentials_file: str | None) -> Any:
    if os.environ.get("STORAGE_EMULATOR_HOST") or anonymous:
        return storage.Client.create_anonymous_client()
    if credentials_file:
        try:
            return storage.Client.from_service_account_json(credentials_file)
        except Exception as exc:  # any shape of bad key file (a JSON list: AttributeError); never its contents
            raise ConfigError(f"{credentials_file}: not a usable service-account key ({type(exc).__name__})") from None
    try:
        return storage.Client()
    except Exception as exc:
        raise ConfigError(
            "no Google credentials for GCS: pass --google-service-account-credential-file, set up Application "
            f"Default Credentials, or use --anonymous for a public bucket ({type(exc).__name__})"
        ) from None
