"""Fewer garbage-collector passes while an upload runs (process-wide, reentrant).

An upload allocates millions of short-lived objects (parsed documents, rows) and almost no reference cycles, yet
CPython's default thresholds run a young-generation pass every 700 allocations and, now and then, a full pass over
every object of the process (imported modules included). That was ~15–20% of an ingest's CPU (benchmarks/).
While any upload runs, the objects that existed before it are frozen out of collection and the young generation
is collected ~70× less often; cycles are still collected, and everything is restored when the last upload ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000
_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_saved[0], YOUNG_THRESHOLD), *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
