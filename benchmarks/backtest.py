"""Backtest: a 90-day backtest with weekly steps on a year of BackendDisruption rows (issue 22: goal ≤ 60 s).

Baseline, timed in the same run: the steps' export queries alone (the percentile SQL the backtest must run once
per step), so the ratio shows what judging every run under four rule sets adds to the SQL.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from .data import CACHE
from .report import Table, verdict

NOW = datetime(2024, 6, 1, tzinfo=UTC)
JOBS = 24
RUNS_PER_JOB_AND_DAY = 6
DAYS = 365
BACKENDS = 10  # the sample catalog's backends
GOAL_SECONDS = 60.0


def year_warehouse(log=print):
    """A DuckDB file with a year of runs: JOBS sample jobs × 6 runs a day × 20 backends (cached)."""
    from job_run_aggregator.jobs.primer import prime_job_table
    from job_run_aggregator.pipeline.sample_data import sample_job_names
    from job_run_aggregator.pipeline.sample_data.catalog import BACKENDS as CATALOG
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    path = CACHE / "backtest-year.duckdb"
    ready = CACHE / "backtest-year.ready"
    if path.exists() and ready.exists():
        return DuckDBWarehouse(path)
    CACHE.mkdir(exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    runs = JOBS * RUNS_PER_JOB_AND_DAY * DAYS
    log(f"inserting a year of {runs:,} runs × {BACKENDS} backends into {path} …")
    wh = DuckDBWarehouse(path)
    wh.con.execute("SET enable_progress_bar = false")
    wh.create_tables()
    prime_job_table(wh, "".join(f"{n}\n" for n in sample_job_names(JOBS)))
    names = ", ".join(f"'{b[0]}'" for b in CATALOG[:BACKENDS])
    step = DAYS * 86_400 / runs
    # Run r: job r % JOBS, started r × step seconds before NOW. ~70% zeros, the rest spread with a long tail, and a
    # job-dependent scale so cells differ.
    wh.con.execute(f"""
        CREATE TEMP TABLE job_keys AS SELECT JobName, row_number() OVER (ORDER BY JobName) - 1 AS k FROM Jobs;
        CREATE TEMP TABLE backend_names AS SELECT unnest([{names}]) AS BackendName;
        CREATE TEMP TABLE backend_keys AS SELECT BackendName, row_number() OVER () - 1 AS b FROM backend_names;
        INSERT INTO BackendDisruption (BackendName, JobRunName, DisruptionSeconds, JobName, JobRunStartTime,
            JobRunEndTime, Cluster, ReleaseTag, MasterNodesUpdated, JobRunStatus)
        SELECT bk.BackendName, CAST(1600000000000000000 + r AS VARCHAR),
               CASE WHEN hash(r * 31 + b) % 10 < 7 THEN 0
                    ELSE (hash(r * 31 + b) % 1000) * (hash(r * 31 + b) % 1000) * (1 + r % {JOBS} % 3) // 40000 END,
               j.JobName,
               TIMESTAMPTZ '{NOW.isoformat()}' - to_seconds(CAST(r * {step} AS DOUBLE)),
               TIMESTAMPTZ '{NOW.isoformat()}' - to_seconds(CAST(r * {step} AS DOUBLE)) + INTERVAL 2 HOUR,
               'build01', '', 'Y', 'success'
        FROM range({runs}) AS t(r) JOIN job_keys AS j ON j.k = r % {JOBS} CROSS JOIN backend_keys AS bk;
        CHECKPOINT;
    """)
    ready.write_text("ok\n")
    return wh


def backtest_table(log=print) -> Table:
    from job_run_aggregator.backtest import BacktestSpec, backtest
    from job_run_aggregator.backtest.runner import history_at

    wh = year_warehouse(log)
    try:
        rows = wh.query("SELECT COUNT(*) AS n FROM BackendDisruption")[0]["n"]
        spec = BacktestSpec(NOW - timedelta(days=90), NOW, step=timedelta(days=7), plant_seconds=30.0, plant_share=0.05)
        log("timing the baseline: the steps' export queries …")
        started = time.perf_counter()
        for moment in spec.step_starts():
            history_at(wh, spec, moment)
        baseline = time.perf_counter() - started
        log("timing a 90-day weekly backtest under four rule sets …")
        started = time.perf_counter()
        report = backtest(wh, spec)
        elapsed = time.perf_counter() - started
    finally:
        wh.close()
    verdicts = sum(r.total.judged + r.total.skipped for r in report.rule_sets)
    pairs = sum(s.pairs for s in report.steps)
    table = Table(
        "7. Backtest: 90 days, weekly steps, on a year warehouse",
        ["BackendDisruption rows", "steps", "runs judged", "pairs", "rule sets", "verdicts", "seconds",
         "verdicts/s", "baseline: export queries only (s)", "backtest/baseline", f"goal ≤ {GOAL_SECONDS:.0f} s"],
    )
    table.add(int(rows), len(report.steps), sum(s.runs for s in report.steps), pairs, len(report.rule_sets),
              verdicts, elapsed, verdicts / elapsed if elapsed else 0.0, baseline,
              elapsed / baseline if baseline else 0.0, verdict(elapsed <= GOAL_SECONDS))
    table.notes.append(
        f"Year warehouse: {JOBS} sample jobs × {RUNS_PER_JOB_AND_DAY} runs a day × {DAYS} days × {BACKENDS} backends "
        "(DuckDB). Rule sets 2022, 2023, current, calibrated:0.01 (12-week tails); +30 s planted on 5% of pairs. "
        "Each step: the export's percentile query, the calibrated tails query, the step's runs, every verdict.")
    return table
