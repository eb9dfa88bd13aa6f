"""Matching: origin's best matcher (guessers, rule presets, lookup) and run verdicts."""
