"""One SQL text per query, in BigQuery dialect; transpiled for other engines here."""

from __future__ import annotations

from functools import lru_cache

import sqlglot


@lru_cache(maxsize=256)
def transpile(sql: str, dialect: str) -> str:
    """Translate BigQuery-dialect SQL (bare table names, `@param` parameters) to `dialect`."""
    if dialect == "bigquery":
        return sql
    return sqlglot.transpile(sql, read="bigquery", write=dialect)[0]
