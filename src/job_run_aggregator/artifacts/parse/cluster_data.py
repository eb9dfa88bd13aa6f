"""cluster-data_<timestamp>.json → MasterNodesUpdated (DESIGN §2)."""

from __future__ import annotations

import posixpath
import re

from job_run_aggregator.errors import InputError
from job_run_aggregator.artifacts.parse.document import load_json_object, optional_string, show

_FILE_NAME = re.compile(r"cluster-data[^/]*\.json\Z")
_VALUES = ("Y", "N", "")


def is_cluster_data_path(path: str) -> bool:
    """Tell whether an object path under a run is a cluster-data file."""
    return _FILE_NAME.match(posixpath.basename(path)) is not None


def parse_cluster_data(data: bytes, path: str) -> str:
    """Return MasterNodesUpdated: "Y", "N", or "" when the file does not say (older origin versions).

    Raises:
        InputError: not a JSON object, or MasterNodesUpdated is not one of "Y", "N", "".
    """
    value = optional_string(load_json_object(data, path), "MasterNodesUpdated", "", path)
    if value not in _VALUES:
        raise InputError(f'MasterNodesUpdated is {show(value)}, expected "Y", "N" or ""', path)
    return value
