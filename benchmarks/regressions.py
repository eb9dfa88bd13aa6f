"""Benchmark 5: `regressions` over every series of a 42-day window at a year warehouse's volume (goal ≤ 10 s).

The year warehouse of the scale issue holds ~900 runs a day with 57 BackendDisruption rows each; its last 42 days
are ~37,800 runs and ~2.15M rows. This builds exactly that window synthetically in DuckDB (one INSERT … FROM
range(n)): 300 sample jobs, 57 backends, mostly zero seconds with a heavy tail (like real disruption), and a
planted +30 s step on one backend of one job, 10 days before the end.
"""

from __future__ import annotations

import time
from datetime import timedelta

from .data import CACHE, NOW
from .report import Table, verdict

JOBS = 300
BACKENDS = 57
RUNS_PER_DAY = 900
DAYS = 42
STEP_JOB = 1  # backend-0 steps up on every job of this job's variant (jobs in name order: hypershift 4.13)
REPEATS = 3


def warehouse(log=print):
    """A cached DuckDB file holding the window (built once, ~1 minute)."""
    from job_run_aggregator.jobs.primer import prime_job_table
    from job_run_aggregator.pipeline.sample_data import sample_job_names
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    runs = RUNS_PER_DAY * DAYS
    path = CACHE / f"regressions-{runs}x{BACKENDS}-v2.duckdb"
    ready = path.with_suffix(".ready")
    if path.exists() and ready.exists():
        return DuckDBWarehouse(path)
    CACHE.mkdir(exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    log(f"inserting {runs * BACKENDS:,} BackendDisruption rows ({runs:,} runs) into {path} …")
    wh = DuckDBWarehouse(path)
    wh.con.execute("SET enable_progress_bar = false")
    wh.create_tables()
    prime_job_table(wh, "".join(f"{n}\n" for n in sample_job_names(JOBS)))
    # The step goes into every job of one variant (job_keys numbers the jobs in name order): a series is a
    # backend × variant, and a step in one job of five would be a fifth as large.
    names = sorted(sample_job_names(JOBS))
    stepped = [k for k, name in enumerate(names) if _variant(name) == _variant(names[STEP_JOB])]
    span = timedelta(days=DAYS).total_seconds()
    step_at = span * 10 / DAYS  # seconds before NOW
    # Run r = i // BACKENDS belongs to job r % JOBS and starts (r + 0.5) × span/runs seconds before NOW.
    wh.con.execute(f"""
        CREATE TEMP TABLE job_keys AS SELECT JobName, row_number() OVER (ORDER BY JobName) - 1 AS k FROM Jobs;
        INSERT INTO BackendDisruption (BackendName, JobRunName, DisruptionSeconds, JobName, JobRunStartTime,
            JobRunEndTime, Cluster, ReleaseTag, MasterNodesUpdated, JobRunStatus)
        SELECT 'backend-' || CAST(i % {BACKENDS} AS VARCHAR),
               CAST(1600000000000000000 + i // {BACKENDS} AS VARCHAR),
               CASE WHEN hash(i) % 10 < 7 THEN 0 ELSE (hash(i) % 1000) * (hash(i) % 1000) // 16000 END
                 + CASE WHEN j.k IN ({", ".join(map(str, stepped))}) AND i % {BACKENDS} = 0
                             AND (i // {BACKENDS} + 0.5) * {span / runs} < {step_at} THEN 30 ELSE 0 END,
               j.JobName,
               TIMESTAMPTZ '{NOW.isoformat()}' - to_seconds(CAST((i // {BACKENDS} + 0.5) * {span / runs} AS DOUBLE)),
               TIMESTAMPTZ '{NOW.isoformat()}' - to_seconds(CAST((i // {BACKENDS} + 0.5) * {span / runs} AS DOUBLE))
                   + INTERVAL 2 HOUR,
               'build01', '4.14.0-0.nightly', 'Y', 'success'
        FROM range({runs * BACKENDS}) AS t(i) JOIN job_keys AS j ON j.k = (i // {BACKENDS}) % {JOBS};
        CHECKPOINT;
    """)
    ready.write_text("ok\n")
    return wh


def _variant(name: str) -> tuple[str, ...]:
    from job_run_aggregator.history.percentiles import VARIANT
    from job_run_aggregator.jobs.variants import variant_for

    row = variant_for(name).jobs_row()
    return tuple(row[c] for c in VARIANT)


def measure(log=print) -> dict[str, object]:
    from job_run_aggregator.regressions import DetectOptions, SeriesQuery, detect, find_regressions
    from job_run_aggregator.regressions.series import load_series

    wh = warehouse(log)
    q = SeriesQuery(now=NOW, days=DAYS)
    rows = wh.con.execute("SELECT count(*) FROM BackendDisruption").fetchone()[0]
    log("[regressions] screen query, detection, whole command …")
    best: dict[str, float] = {"screen": float("inf"), "detect": float("inf"), "total": float("inf")}
    for _ in range(REPEATS):
        start = time.perf_counter()
        series = load_series(wh, q)
        best["screen"] = min(best["screen"], time.perf_counter() - start)
        start = time.perf_counter()
        flagged = sum(bool(detect(values, DetectOptions())) for _, values in series)
        best["detect"] = min(best["detect"], time.perf_counter() - start)
        start = time.perf_counter()
        report = find_regressions(wh, q)
        best["total"] = min(best["total"], time.perf_counter() - start)
    wh.close()
    lengths = sorted(v.size for _, v in series)
    return {"rows": rows, "series": len(series), "median_runs": lengths[len(lengths) // 2], "max_runs": lengths[-1],
            "flagged": flagged, "items": [(r.name, r.first_run.job_name) for r in report.items], **best}


def regressions_table(log=print) -> Table:
    r = measure(log)
    t = Table("5. regressions: every series of a 42-day window at a year's volume (DuckDB)",
              ["BackendDisruption rows", "series", "runs per series (median / max)", "screen query s",
               "detection s", "whole `find_regressions` s", "goal ≤ 10 s", "changes reported"])
    t.add(r["rows"], r["series"], f"{r['median_runs']} / {r['max_runs']}", r["screen"], r["detect"], r["total"],
          verdict(float(r["total"]) <= 10), len(r["items"]))  # type: ignore[arg-type]
    t.notes += [
        (f"Synthetic window: {RUNS_PER_DAY} runs/day × {DAYS} days, {BACKENDS} backends per run, {JOBS} sample "
         "jobs (their variants group them into the series), ~70% zero seconds and a heavy tail; one planted +30 s "
         f"step (backend-0 of every job of one variant, 10 days before the end). Best of {REPEATS}."),
        ("screen query: one row per series with its seconds as a string (series.screen_sql), parsed to arrays. "
         "detection: the rank CUSUM screen, then ruptures KernelCPD PELT on ranks + Mann-Whitney per candidate, "
         "every series. whole: both plus the runs query for the flagged series and the report."),
        f"Reported: {r['items']}",
    ]
    return t
