"""Matching: origin's best matcher (guessers, rule presets, lookup) and run verdicts."""

# Registers the `calibrated:TARGET` preset family with the preset registry (issue 22).
from job_run_aggregator.matching import calibrated as _calibrated  # noqa: F401
