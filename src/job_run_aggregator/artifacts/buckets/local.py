"""A local folder laid out like the prow bucket (the zero-setup default)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

from job_run_aggregator.errors import ConfigError, InputError

_DIR_CACHE = 256  # resolved folders kept; reads go run by run, so a few dozen cover every hit


class LocalBucket:
    is_local = True

    def __init__(self, root: str | Path) -> None:
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
            names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
        for name in names:
            if start_after is None or name > start_after:
                yield name

    def list_files(self, prefix: str) -> Iterator[str]:
        base = self._real_folder(prefix, prefix)
        if not os.path.isdir(base):
            return
        found = []
        # Like os.walk without followlinks: symlinked folders are not entered, symlinked files are listed only
        # when their target is inside the bucket.
        pending = [(base, base[len(self._root) + 1 :].replace(os.sep, "/") if base != self._root else ".")]
        while pending:
            folder, rel = pending.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((entry.path, f"{rel}/{entry.name}"))
                    elif not entry.is_symlink() or not entry.is_dir() and self._inside(os.path.realpath(entry.path)):
                        found.append(f"{rel}/{entry.name}")
        yield from sorted(found)  # the order GCS lists in

    def read(self, path: str) -> bytes:
        folder, _, leaf = path.lstrip("/").rpartition("/")
        try:
            if leaf in ("", ".", ".."):
                return _read_file(self._real(path), 0)
            full = os.path.join(self._real_folder(folder, path), leaf)
            try:
                # O_NOFOLLOW: a symlinked file fails with ELOOP and is resolved and checked like any path.
                return _read_file(full, os.O_NOFOLLOW)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                return _read_file(self._real(path), 0)
        except FileNotFoundError:
            raise InputError("object not found", path=path) from None
        except (IsADirectoryError, PermissionError, NotADirectoryError) as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=path) from None

    def browse_url(self, path: str) -> str:
        return self._path(path).as_uri()


def _read_file(path: str, flags: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)  # one call reads a regular file whole; the loop covers one still growing
        if len(data) <= size:
            return data
        chunks = [data]
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
