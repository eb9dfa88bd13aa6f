"""Keep __all__ honest: every name exported exists, and every public name of the package is in it."""

from __future__ import annotations

import job_run_aggregator as jra


def test_all_names_exist():
    missing = [n for n in jra.__all__ if not hasattr(jra, n)]
    assert missing == []


def test_all_public_attributes_are_listed():
    public = {n for n in vars(jra) if not n.startswith("_") and not isinstance(getattr(jra, n), type(jra))}
    public.discard("annotations")  # the `from __future__ import annotations` feature flag
    assert public - set(jra.__all__) == set()
