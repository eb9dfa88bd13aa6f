"""Benchmarks of job-run-aggregator, each measured as a ratio against a baseline taken in the same run (issue 10).

Run from the repository root: `python -m benchmarks [--sizes 2000,10000,40000] [--quick]`. Not part of the test
suite; results are printed and appended to benchmarks/RESULTS.md.
"""
