"""An exclusive writers' lock on a local file (fcntl), for warehouses that live on this machine."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from job_run_aggregator.errors import LockBusy


@contextmanager
def file_lock(path: Path, owner: str, timeout: float = 0.0, poll: float = 0.2) -> Iterator[None]:
    """Hold an exclusive lock on `path`; after `timeout` seconds raise LockBusy naming the holder.

    The kernel drops the lock when the holder dies (even by SIGKILL), so a crash never leaves it stuck.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(
                        f"{path}: another writer holds the lock ({_holder(path)}); "
                        "wait for it to finish or raise --lock-timeout"
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "owner": owner, "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
        return f"{info.get('owner', '?')} pid {info.get('pid', '?')} since {info.get('since', '?')}"
    except (OSError, ValueError):
        return "holder unknown"
