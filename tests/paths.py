"""Where the tests find things: the repository, the shared reference files and the checked-in fixtures."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the folder holding pyproject.toml
FIXTURES = REPO / "tests" / "fixtures"


def _shared() -> Path:
    # The real files live next to the repository (`../shared`); a worktree nested deeper finds them further up,
    # and JRA_SHARED points elsewhere explicitly.
    if "JRA_SHARED" in os.environ:
        return Path(os.environ["JRA_SHARED"])
    for parent in REPO.parents:
        if (parent / "shared" / "reference").is_dir():
            return parent / "shared"
    return REPO.parent / "shared"


SHARED = _shared()
REFERENCE = SHARED / "reference"
