"""A local folder laid out like the prow bucket (the zero-setup default)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from job_run_aggregator.artifacts.buckets.base import LOCAL_WORKERS, RefusedPath
from job_run_aggregator.artifacts.parse.document import MAX_ARTIFACT_BYTES, render_limit
from job_run_aggregator.errors import ConfigError, InputError, ObjectMissing

_DIR_CACHE = 256  # resolved folders kept; reads go run by run, so a few dozen cover every hit


class LocalBucket:
    """Reads only regular files, each checked against `max_bytes` before a byte is read (FIFOs and devices refused)."""

    is_local = True
    default_workers = LOCAL_WORKERS

    def __init__(self, root: str | Path, max_bytes: int = MAX_ARTIFACT_BYTES) -> None:
        self.max_bytes = max_bytes
        self.root = Path(root).resolve()
        self.name = self.root.name
        self.url = str(self.root)
        self._root = str(self.root)
        self._dirs: dict[str, str] = {}  # bucket-relative folder -> its resolved path (inside the root)

    def _inside(self, real: str) -> bool:
        return real == self._root or real.startswith(self._root + os.sep)

    def _path(self, rel: str) -> Path:
        """Resolve a bucket path; paths taken from data must never escape the root."""
        return Path(self._real(rel))

    def _real(self, rel: str, named: str | None = None) -> str:
        real = os.path.realpath(os.path.join(self._root, rel.lstrip("/")))
        if not self._inside(real):
            raise InputError("path escapes the bucket folder; refused", path=named or rel)
        return real

    def _real_folder(self, rel: str, named: str) -> str:
        """Resolve a bucket folder, reusing the resolved ancestors of recent calls (one lstat per new component).

        A full realpath costs an lstat per component from the file-system root; a run's files share a handful
        of folders under the same job folder, so only their last components are new.
        """
        rel = rel.strip("/")
        real = self._dirs.get(rel)
        if real is not None:
            return real
        parts = rel.split("/") if rel else []
        if len(parts) > 64 or any(p in ("", ".", "..") for p in parts):
            return self._real(rel, named)
        known, real = len(parts), self._root
        while known:  # the deepest ancestor resolved before (reader threads share the cache: get, not [])
            cached = self._dirs.get("/".join(parts[:known]))
            if cached is not None:
                real = cached
                break
            known -= 1
        for depth in range(known, len(parts)):
            real = os.path.join(real, parts[depth])
            if os.path.islink(real):
                real = os.path.realpath(real)
                if not self._inside(real):
                    raise InputError("path escapes the bucket folder; refused", path=named)
            if len(self._dirs) >= _DIR_CACHE:
                self._dirs.clear()
            self._dirs["/".join(parts[: depth + 1])] = real
        return real

    def list_dirs(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        base = self._path(prefix)
        if not base.is_dir():
            if not self.root.is_dir():
                raise ConfigError(f"bucket folder {self.root} does not exist")
            return
        with os.scandir(base) as it:
            entries = {e.name: e.is_dir(follow_symlinks=False) for e in it if e.is_dir()}
        for name in sorted(entries):
            if start_after is None or name > start_after:
                # A symlinked folder is never entered; it is named, so that it is reported rather than lost.
                yield name if entries[name] else RefusedPath(name, "symlinked folder; not followed")

    def list_files(self, prefix: str, match_glob: str | None = None) -> Iterator[str]:
        # match_glob is a hint for remote stores; a folder walk costs the same either way, and callers filter.
        base = self._real_folder(prefix, prefix)
        if not os.path.isdir(base):
            return
        found = []
        # Like os.walk without followlinks: symlinked folders are not entered, symlinked files are read only when
        # their target is inside the bucket. Every entry not read is listed as a RefusedPath with the reason.
        pending = [(base, base[len(self._root) + 1 :].replace(os.sep, "/") if base != self._root else ".")]
        while pending:
            folder, rel = pending.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    path = f"{rel}/{entry.name}"
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((entry.path, path))
                    elif entry.is_file(follow_symlinks=False):
                        found.append(path)
                    elif not entry.is_symlink():
                        found.append(RefusedPath(path, "not a regular file (FIFO, device or socket); not read"))
                    elif not self._inside(os.path.realpath(entry.path)):
                        found.append(RefusedPath(path, "symlink to outside the bucket folder; not read"))
                    elif entry.is_dir():
                        found.append(RefusedPath(path, "symlinked folder; not followed"))
                    else:
                        found.append(path)
        yield from sorted(found)  # the order GCS lists in

    def read(self, path: str) -> bytes:
        folder, _, leaf = path.lstrip("/").rpartition("/")
        try:
            if leaf in ("", ".", ".."):
                return _read_file(self._real(path), 0, path, self.max_bytes)
            full = os.path.join(self._real_folder(folder, path), leaf)
            try:
                # O_NOFOLLOW: a symlinked file fails with ELOOP and is resolved and checked like any path.
                return _read_file(full, os.O_NOFOLLOW, path, self.max_bytes)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                return _read_file(self._real(path), 0, path, self.max_bytes)
        except FileNotFoundError:
            raise ObjectMissing("object not found", path=path) from None
        except (IsADirectoryError, PermissionError, NotADirectoryError) as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=path) from None
        except OSError as exc:  # e.g. EIO from a failing disk: one object's problem, not the batch's
            raise InputError(f"cannot read ({exc.strerror or type(exc).__name__})", path=path) from None

    def browse_url(self, path: str) -> str:
        return self._path(path).as_uri()

    def allow_concurrency(self, workers: int) -> None:
        """Nothing to prepare: each read opens its own file."""


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def _read_file(path: str, flags: int, name: str, limit: int) -> bytes:
    """Read a regular file of at most `limit` bytes; the type and size are checked before any byte is read."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it would hang the upload while it holds the lock).
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise InputError(f"is {kind}, not a regular file; not read", path=name)
        if info.st_size > limit:
            raise InputError(f"file is {info.st_size} bytes, over the {render_limit(limit)} limit; not read", name)
        # One call reads a regular file whole; the loop covers one still growing, never past the limit.
        chunks = [os.read(fd, info.st_size + 1)]
        total = len(chunks[0])
        while total > info.st_size and total <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise InputError(f"file grew past the {render_limit(limit)} limit while read; not read", name)
        return b"".join(chunks)
    finally:
        os.close(fd)
