"""Benchmark 5: what the current alert formats cost (a3 scope, a4 FirstObserved/LastObserved) against a1, and
the per-release comparison of origin's 2025 file against reading and writing it alone."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from .data import CACHE, NOW
from .report import REPO, Table

JOBS = 200
ALERTS = 30  # rows per run: alert, namespace, level combinations
REPEATS = 3
REFERENCE = REPO.parent / "shared" / "reference" / "backend_query_results_2025-current.json"


def alerts_warehouse(rows: int, log=print):
    """A DuckDB file with `rows` Alerts rows over 30 days (a third outside the 7-day window, for FirstObserved)."""
    from job_run_aggregator.jobs.primer import prime_job_table
    from job_run_aggregator.pipeline.sample_data import sample_job_names
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    path = CACHE / f"alerts-{rows}.duckdb"
    ready = CACHE / f"alerts-{rows}.ready"
    if path.exists() and ready.exists():
        return DuckDBWarehouse(path)
    CACHE.mkdir(exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    log(f"inserting {rows:,} Alerts rows into {path} …")
    wh = DuckDBWarehouse(path)
    wh.con.execute("SET enable_progress_bar = false")
    wh.create_tables()
    prime_job_table(wh, "".join(f"{n}\n" for n in sample_job_names(JOBS)))
    runs = rows // ALERTS
    span = timedelta(days=30).total_seconds()
    # Run r belongs to job r % JOBS; ~80% of the rows are injected zeros, as for real alerts.
    wh.con.execute(f"""
        CREATE TEMP TABLE job_keys AS SELECT JobName, row_number() OVER (ORDER BY JobName) - 1 AS k FROM Jobs;
        INSERT INTO Alerts (Name, Namespace, Level, AlertSeconds, JobRunName, JobName, JobRunStartTime,
            JobRunEndTime, Cluster, ReleaseTag, MasterNodesUpdated, JobRunStatus)
        SELECT 'alert-' || CAST(i % {ALERTS} // 3 AS VARCHAR), 'openshift-ns-' || CAST(i % 3 AS VARCHAR),
               CASE WHEN i % 2 = 0 THEN 'Warning' ELSE 'Critical' END,
               CASE WHEN hash(i) % 10 < 8 THEN 0 ELSE hash(i) % 600 END,
               CAST(1600000000000000000 + i // {ALERTS} AS VARCHAR), j.JobName,
               TIMESTAMPTZ '{NOW.isoformat()}' - to_seconds(CAST((i // {ALERTS}) * {span / runs} AS DOUBLE)),
               TIMESTAMPTZ '{NOW.isoformat()}' - to_seconds(CAST((i // {ALERTS}) * {span / runs} AS DOUBLE))
                   + INTERVAL 2 HOUR,
               'build01', '', 'Y', 'success'
        FROM range({rows}) AS t(i) JOIN job_keys AS j ON j.k = (i // {ALERTS}) % {JOBS};
        CHECKPOINT;
    """)
    ready.write_text("ok\n")
    return wh


def _best(fn, repeats: int = REPEATS) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def origin_table(sizes: tuple[int, ...], log=print) -> Table:
    from job_run_aggregator.history.formats import FORMATS
    from job_run_aggregator.history.percentiles import export_historical_data, query_for_format

    t = Table("5. Alert formats (7-day export, releases 4.14 + 4.13 in one file) on DuckDB",
              ["Alerts rows", "a1 s (rows)", "a3 s (rows)", "a4 s (rows)", "a3/a1", "a4/a1"])
    for rows in sizes:
        wh = alerts_warehouse(rows, log)
        results = {}
        for name in ("a1", "a3", "a4"):
            q = query_for_format(FORMATS[name], now=NOW)
            log(f"[origin {rows:,}] export {name} …")
            results[name] = _best(lambda q=q, name=name, wh=wh: export_historical_data(
                wh, q, ("4.13", "4.14"), FORMATS[name]))
        wh.close()
        a1, a3, a4 = (results[n][0] for n in ("a1", "a3", "a4"))
        t.add(rows, *(f"{results[n][0]:.3g} ({results[n][1][1]})" for n in ("a1", "a3", "a4")), a3 / a1, a4 / a1)
    compare_s, io_s = _compare_2025()
    t.notes += [
        (f"Synthetic rows: {JOBS} sample jobs, {ALERTS} alert/namespace/level rows per run (80% zeros), starts "
         f"over 30 days. Best of {REPEATS}. a3 groups by namespace and level too (more groups); a4 adds the "
         "Alerts_AllKnown query (MIN/MAX start time per alert and release over all time, not just the window)."),
        (f"Per-release comparison of origin's 2025 backend file (6 550 rows, 4.19 + 4.20) with itself, report and "
         f"output file included: {compare_s * 1000:.0f} ms; reading and writing the file alone: "
         f"{io_s * 1000:.0f} ms ({compare_s / io_s:.1f}×)."),
    ]
    return t


def _compare_2025() -> tuple[float, float]:
    from job_run_aggregator.history.compare import compare_releases, render_releases_markdown
    from job_run_aggregator.history.results_file import read_query_results, render_query_results

    data = Path(REFERENCE).read_bytes()

    def io_only() -> bytes:
        return render_query_results(read_query_results(data, "2025"))

    def full() -> bytes:
        rows = read_query_results(data, "2025")
        result = compare_releases(rows, rows, ["4.19", "4.20"])
        render_releases_markdown(result)
        return render_query_results(list(result.output_rows))

    io_s, written = _best(io_only, 9)  # shared CPUs: more repeats for sub-second figures
    compare_s, compared = _best(full, 9)
    assert written == compared == data
    return compare_s, io_s
