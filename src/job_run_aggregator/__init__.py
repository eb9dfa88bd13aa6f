"""job-run-aggregator: OpenShift CI disruption historical data, on DuckDB or BigQuery."""

from __future__ import annotations

__version__ = "0.1.0"
