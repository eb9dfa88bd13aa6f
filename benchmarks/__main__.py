"""`python -m benchmarks [--sizes 2000,10000,40000] [--quick] [--only ingest,gcs,percentiles,matching,regressions,year]`.

`--only gcs-latency` measures GCS ingest at 1–64 workers with 30–80 ms per request (--latency-runs runs).

`--profile year` runs only the year benchmark (issue 16); size it with --year-days/--year-runs-per-day.
"""

from __future__ import annotations

import argparse
import sys
import time

from .report import emit, start_section

ALL = ("ingest", "gcs", "percentiles", "matching", "origin", "backtest", "regressions")
EXTRA = ("year", "listing", "gcs-latency")  # not in the default set: long, or needing a server
QUICK_SIZES = (500, 2000)
QUICK_PERCENTILE_ROWS = (100_000, 1_000_000)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", default="2000,10000,40000", help="Ingest sizes in runs, comma-separated.")
    parser.add_argument("--quick", action="store_true",
                        help=f"Small sizes ({QUICK_SIZES}) and {QUICK_PERCENTILE_ROWS} percentile rows.")
    parser.add_argument("--only", default=",".join(ALL), help=f"Benchmarks to run, from {','.join(ALL)}.")
    parser.add_argument("--percentile-rows", default="1000000,10000000", help="BackendDisruption rows to export.")
    parser.add_argument("--gcs-size", type=int, default=None, help="Runs for the GCS benchmark (default: smallest).")
    parser.add_argument("--alert-rows", default="300000,3000000", help="Alerts rows for the alert formats.")
    parser.add_argument("--no-append", action="store_true", help="Print only; leave RESULTS.md alone.")
    parser.add_argument("--profile", choices=("year",), help="year: only the year benchmark (--only year).")
    parser.add_argument("--year-days", type=int, default=365, help="Year benchmark: days of history.")
    parser.add_argument("--year-runs-per-day", type=int, default=900, help="Year benchmark: runs per day.")
    parser.add_argument("--year-junit-cases", type=int, default=3000, help="Year benchmark: extra junit cases/run.")
    parser.add_argument("--year-batch-days", type=int, default=7, help="Year benchmark: days per ingested batch.")
    parser.add_argument("--year-extra-backends", type=int, default=38,
                        help="Year benchmark: backends beyond the demo's ~19 per run (38: ~57 rows per run).")
    parser.add_argument("--year-extra-alerts", type=int, default=61,
                        help="Year benchmark: alert kinds beyond the demo's ~15 (61: ~76 rows per run).")
    parser.add_argument("--listing-runs", type=int, default=3, help="Listing benchmark: runs of 2,000 noise objects.")
    parser.add_argument("--latency-runs", type=int, default=300, help="GCS latency benchmark: runs in the bucket.")
    args = parser.parse_args(argv)
    if args.profile == "year":
        args.only = "year"
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    unknown = set(only) - set(ALL) - set(EXTRA)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {', '.join(ALL + EXTRA)}")
    sizes = QUICK_SIZES if args.quick else tuple(int(s) for s in args.sizes.split(","))
    rows = QUICK_PERCENTILE_ROWS if args.quick else tuple(int(s) for s in args.percentile_rows.split(","))
    append = not args.no_append
    start_section(argv, append)
    if "ingest" in only:
        from .ingest import ingest_tables, measure_ingest, scaling_table

        results = [measure_ingest(size, log) for size in sizes]
        for table in ingest_tables(results):
            emit(table, append)
        emit(scaling_table(results), append)
    if "gcs" in only:
        from .ingest import gcs_table

        emit(gcs_table(args.gcs_size or min(sizes), log), append)
    if "percentiles" in only:
        from .percentiles import percentile_table

        emit(percentile_table(rows, log), append)
    if "matching" in only:
        from .matching import matching_table

        emit(matching_table(log), append)
    if "origin" in only:
        from .origin import origin_table

        alert_rows = (30_000, 300_000) if args.quick else tuple(int(s) for s in args.alert_rows.split(","))
        emit(origin_table(alert_rows, log), append)
    if "year" in only:
        from .year import YearProfile, measure_year, year_tables

        profile = YearProfile(args.year_days, args.year_runs_per_day, args.year_junit_cases, args.year_batch_days,
                              args.year_extra_backends, args.year_extra_alerts)
        for table in year_tables(measure_year(profile, log)):
            emit(table, append)
    if "listing" in only:
        from .listing import listing_table

        emit(listing_table(args.listing_runs, log), append)
    if "gcs-latency" in only:
        from .gcs_latency import gcs_latency_tables

        for table in gcs_latency_tables(args.latency_runs, log):
            emit(table, append)
    if "backtest" in only:
        from .backtest import backtest_table

        emit(backtest_table(log), append)
    if "regressions" in only:
        from .regressions import regressions_table

        emit(regressions_table(log), append)


if __name__ == "__main__":
    main(sys.argv[1:])
