"""`python -m benchmarks [--sizes 2000,10000,40000] [--quick] [--only ingest,gcs,percentiles,matching,regressions]`."""

from __future__ import annotations

import argparse
import sys
import time

from .report import emit, start_section

ALL = ("ingest", "gcs", "percentiles", "matching", "regressions")
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
    parser.add_argument("--no-append", action="store_true", help="Print only; leave RESULTS.md alone.")
    args = parser.parse_args(argv)
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    unknown = set(only) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {', '.join(ALL)}")
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
    if "regressions" in only:
        from .regressions import regressions_table

        emit(regressions_table(log), append)


if __name__ == "__main__":
    main(sys.argv[1:])
