"""A local folder laid out like the prow bucket (the zero-setup default)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError, InputError


class LocalBucket:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.name = self.root.name
        self.url = str(self.root)

    def _path(self, rel: str) -> Path:
        """Resolve a bucket path; paths taken from data must never escape the root."""
        p = (self.root / rel.lstrip("/")).resolve()
        if p != self.root and not p.is_relative_to(self.root):
            raise InputError("path escapes the bucket folder; refused", path=rel)
        return p

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
        base = self._path(prefix)
        if not base.is_dir():
            return
        found = []
        for dirpath, _, filenames in os.walk(base):  # os.walk does not follow symlinked dirs
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for f in filenames:
                full = Path(dirpath) / f
                if full.is_symlink() and not full.resolve().is_relative_to(self.root):
                    continue
                found.append(f"{rel}/{f}")
        yield from sorted(found)  # the order GCS lists in

    def read(self, path: str) -> bytes:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError:
            raise InputError("object not found", path=path) from None
        except (IsADirectoryError, PermissionError) as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=path) from None

    def browse_url(self, path: str) -> str:
        return self._path(path).as_uri()
