"""The upload's garbage-collector setting is process-wide: it must nest and leave the process as it found it."""

from __future__ import annotations

import gc
import threading
import weakref

from job_run_aggregator.ingest.collector import YOUNG_THRESHOLD, fewer_collections


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_nested_and_concurrent_uses_restore_the_thresholds_and_unfreeze() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    inner_done, outer_may_end = threading.Event(), threading.Event()

    def other_upload() -> None:
        with fewer_collections():
            inner_done.set()
            outer_may_end.wait(5)

    with fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
        assert gc.get_freeze_count() > 0
        thread = threading.Thread(target=other_upload)
        thread.start()
        assert inner_done.wait(5)
    # The first use ended while the other still runs: the setting stays until the last one ends.
    assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
    outer_may_end.set()
    thread.join(5)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_during_an_upload_are_still_collected() -> None:
    with fewer_collections():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None


def test_an_error_inside_restores_the_setting() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("upload failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
