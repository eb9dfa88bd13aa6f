"""Crash safety: `upload-all` killed by SIGKILL at random points, then re-run, ends with the tables of one clean run.

Every row of every table is compared (LoadProblems without DetectedAt, a wall-clock time). The kill delay is drawn
per trial from [0, 1.1 x the clean upload's duration], measured from the moment the upload has begun, so the kills
land while runs are being read and while chunks are being committed; a trial may kill twice in a row (a crash
while recovering).
"""

from __future__ import annotations

import random
import signal
import time

import pytest
from ingest.processes import copy_duckdb, upload_all
from ingest.upload_model import tables_at

TRIALS = 12
EVERY_COLUMN = ("DetectedAt",)  # LoadProblems.DetectedAt is a wall-clock time; all else compared


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_equals_one_clean_run(tmp_path, prepared, monkeypatch):
    bucket, template = prepared
    # Small batches (~7 commits of ~10,000 rows) so that kills land between commits, inside one, and while reading.
    monkeypatch.setenv("JRA_BATCH_ROWS", "1500")
    clean_url = copy_duckdb(template, tmp_path / "clean.duckdb")
    clean = upload_all(clean_url, bucket)
    clean.wait_for_upload_start()
    began = time.monotonic()
    assert clean.finish() == 0, clean.output
    upload_seconds = time.monotonic() - began
    expected = tables_at(clean_url, EVERY_COLUMN)
    runs = len(expected["JobRuns"])
    assert runs > 150 and len(expected["LoadProblems"]) == 2

    partial_states: list[int] = []  # JobRuns rows found right after each kill
    kills = 0
    for seed in range(TRIALS):
        rng = random.Random(seed)
        url = copy_duckdb(template, tmp_path / f"trial{seed}.duckdb")
        for _ in range(rng.choice((1, 2))):
            victim = upload_all(url, bucket)
            victim.wait_for_upload_start()
            time.sleep(rng.uniform(0, 1.1 * upload_seconds))
            victim.proc.send_signal(signal.SIGKILL)
            victim.finish()
            kills += 1
            partial_states.append(len(tables_at(url, EVERY_COLUMN)["JobRuns"]))
        rerun = upload_all(url, bucket)
        assert rerun.finish() == 0, rerun.output

        assert tables_at(url, EVERY_COLUMN) == expected, f"trial {seed}"

    # The kills did land mid-upload (some committed chunks, not all): otherwise this test proved nothing.
    assert any(0 < n < runs for n in partial_states), partial_states
    print(f"{TRIALS} trials, {kills} kills, JobRuns rows after each kill {partial_states} of {runs}")
