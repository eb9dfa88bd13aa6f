"""The query_results.json files given to `serve --historical-data`, chosen by name: the only server files the
compare page and the match explainer read.

Each file is read when `serve` starts (so a bad one stops it with a clear message) and again whenever its size or
modification time changes (a schedule's `--export-dir` rewrites them). Reads are bounded: a regular file only, at
most MAX_FILE_BYTES, parsed with bounded depth (web/inputs.py).
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from job_run_aggregator.errors import InputError
from job_run_aggregator.matching.matcher import HistoricalData, load_historical
from job_run_aggregator.web.inputs import MAX_FILE_BYTES, check_rows_document


@dataclass
class HistoricalFile:
    """One configured file, known to the pages by `name` only."""

    name: str
    path: Path
    _seen: tuple[int, int] | None = None
    _data: bytes = b""
    _parsed: HistoricalData | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> bytes:
        """The file's bytes, re-read when it changed; InputError (naming the file by name) when unreadable."""
        with self._lock:
            self._refresh()
            return self._data

    def historical(self) -> HistoricalData:
        with self._lock:
            self._refresh()
            if self._parsed is None:
                self._parsed = load_historical(self._data, self.name)
            return self._parsed

    def _refresh(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=self.name) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputError("not a regular file", path=self.name)
            if st.st_size > MAX_FILE_BYTES:
                raise InputError(f"larger than {MAX_FILE_BYTES // 2**20} MB", path=self.name)
            seen = (st.st_mtime_ns, st.st_size)
            if seen == self._seen:
                return
            data = os.read(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
        check_rows_document(data, self.name)
        self._seen, self._data, self._parsed = seen, data, None


@dataclass
class HistoricalFiles:
    """The configured files in the order given; names are file names, made unique with a numeric suffix."""

    files: list[HistoricalFile]

    @classmethod
    def load(cls, paths: Sequence[str | Path]) -> HistoricalFiles:
        files: list[HistoricalFile] = []
        taken: set[str] = set()
        for p in paths:
            path = Path(p)
            name, n = path.name, 1
            while name in taken:
                n += 1
                name = f"{path.stem}-{n}{path.suffix}"
            taken.add(name)
            files.append(HistoricalFile(name, path))
        for f in files:
            f.historical()  # a bad file stops `serve` at start with its message
        return cls(files)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> HistoricalFile:
        return self.files[index]

    def by_name(self, name: str, field_name: str) -> HistoricalFile:
        for f in self.files:
            if f.name == name:
                return f
        choices = ", ".join(self.names) or "none were given"
        raise InputError(f"{field_name}={_short(name)!r} is not one of the files given to serve --historical-data "
                         f"({choices}); choose one of those or upload the file")


def _short(text: str, limit: int = 80) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"
