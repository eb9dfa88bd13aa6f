"""BigQuery warehouse: partitioned tables, batched NDJSON load jobs merged on the natural key."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from datetime import date, datetime
from typing import Any

from job_run_aggregator.errors import ConfigError, JraError, TableMissing, TransientError
from job_run_aggregator.retry import retry_call
from job_run_aggregator.warehouse.base import Capabilities, Row, WarehouseBase
from job_run_aggregator.warehouse.schema import Table, table

try:
    from google.api_core import exceptions as gexc
    from google.cloud import bigquery
except ImportError:  # pragma: no cover - exercised only without the extra
    bigquery = None

# Engine differences are data: BigQuery reports INTEGER/FLOAT under their legacy names too.
TYPE_BACK = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN"}
PARAM_TYPES = ((bool, "BOOL"), (int, "INT64"), (float, "FLOAT64"), (datetime, "TIMESTAMP"), (date, "DATE"), (str, "STRING"))


def render_schema(t: Table) -> list[Any]:
    return [bigquery.SchemaField(c.name, c.type, mode="REQUIRED" if c.required else "NULLABLE") for c in t.columns]


def translate_error(exc: Exception, what: str) -> JraError | None:
    """Map a Google exception onto our tree (None: not ours to translate)."""
    if bigquery is None:
        return None
    if isinstance(exc, gexc.NotFound):
        return TableMissing(f"{what}: not found ({exc.message}); run create-tables first")
    if isinstance(exc, (gexc.TooManyRequests, gexc.ServerError, gexc.ServiceUnavailable, ConnectionError, TimeoutError)):
        return TransientError(f"{what}: BigQuery unavailable ({exc})")
    if isinstance(exc, gexc.GoogleAPICallError):
        return JraError(f"{what}: BigQuery refused the request: {exc.message}")
    return None


class BigQueryWarehouse(WarehouseBase):
    """The distributed warehouse. Construct with `client=` to reach an emulator in tests."""

    dialect = "bigquery"
    capabilities = Capabilities()  # PERCENTILE_CONT is analytic only (the real query's text)

    def __init__(
        self,
        project: str,
        dataset: str,
        credentials_file: str | None = None,
        client: Any = None,
        location: str | None = None,
        maximum_bytes_billed: int | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        if bigquery is None:
            raise ConfigError(
                "BigQuery support is not installed; run: pip install 'job-run-aggregator[bigquery]'"
            )
        super().__init__()
        self.project, self.dataset = project, dataset
        self.url = f"bigquery://{project}/{dataset}"
        self.location = location
        self.maximum_bytes_billed = maximum_bytes_billed
        self.labels = dict(labels or {"app": "job-run-aggregator"})
        self.client = client or _make_client(project, credentials_file)

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _ref(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    def _call(self, what: str, fn, *args, **kwargs):
        def attempt():
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # translated at this one edge
                mapped = translate_error(exc, what)
                if mapped is None:
                    raise
                raise mapped from exc

        return retry_call(attempt, what=what)

    def close(self) -> None:
        self.client.close()

    def lock(self, owner: str, timeout: float = 0.0):
        # No lock service in BigQuery: loads MERGE on the natural key, so two writers cannot double a row.
        return nullcontext()

    # -- tables -----------------------------------------------------------------------------------------------
    def _prepare(self, dry_run: bool) -> None:
        ds = bigquery.Dataset(f"{self.project}.{self.dataset}")
        if self.location:
            ds.location = self.location
        if not dry_run:
            self._call(f"dataset {self.dataset}", self.client.create_dataset, ds, exists_ok=True)

    def _columns(self, name: str) -> list[tuple[str, str, bool]] | None:
        existing = self._get_table(name)
        if existing is None:
            return None
        return [(f.name, TYPE_BACK.get(f.field_type, f.field_type), f.mode == "REQUIRED") for f in existing.schema]

    def _create_table(self, t: Table, dry_run: bool) -> str:
        bt = bigquery.Table(self._ref(t.name), schema=render_schema(t))
        bt.description = t.description
        if t.partition:
            bt.time_partitioning = bigquery.TimePartitioning(type_="DAY", field=t.partition)
        if t.clustering:
            bt.clustering_fields = list(t.clustering)
        if not dry_run:
            self._call(f"table {t.name}", self.client.create_table, bt)
        return json.dumps([f.to_api_repr() for f in render_schema(t)])

    def _get_table(self, name: str):
        try:
            return self.client.get_table(self._ref(name))
        except Exception as exc:
            if bigquery is not None and isinstance(exc, gexc.NotFound):
                return None
            mapped = translate_error(exc, f"table {name}")
            raise (mapped or exc) from exc

    # -- loading ----------------------------------------------------------------------------------------------
    def load(self, batch: Mapping[str, Sequence[Row]]) -> dict[str, int]:
        # BigQuery has no cross-table transaction here; the caller orders the batch so that the job-run
        # tables (the "loaded" markers) come last. A crash in between leaves data rows whose run is not
        # marked loaded: the re-run loads them again and MERGE on the natural key keeps them single.
        self._check_tables(batch)
        return {name: self._merge(table(name), rows, replace=False) for name, rows in batch.items()}

    def replace(self, table_name: str, rows: Sequence[Row]) -> int:
        self._check_tables({table_name: rows})
        return self._merge(table(table_name), rows, replace=True)

    def _merge(self, t: Table, rows: Sequence[Row], replace: bool) -> int:
        if not rows:
            return 0
        staging = f"_staging_{t.name}_{uuid.uuid4().hex[:12]}"
        data = "\n".join(json.dumps({k: _json_value(r.get(k)) for k in t.column_names}) for r in rows).encode()
        cfg = bigquery.LoadJobConfig(
            schema=[bigquery.SchemaField(c.name, c.type, mode="NULLABLE") for c in t.columns],
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        )

        def load_staging():
            job = self.client.load_table_from_file(io.BytesIO(data), self._ref(staging), job_config=cfg)
            return job.result()

        self._call(f"load into {t.name}", load_staging)
        try:
            window = partition_window(t, rows)
            sql = merge_sql(t, self._ref(t.name), self._ref(staging), replace, pruned=window is not None)
            params = {"partition_start": window[0], "partition_end": window[1]} if window else {}
            job = self._call(f"merge into {t.name}",
                             lambda: _run(self.client.query(sql, job_config=self._job_config(params))))
            return int(getattr(job, "num_dml_affected_rows", None) or 0)
        finally:
            try:
                self.client.delete_table(self._ref(staging), not_found_ok=True)
            except Exception:  # staging tables are disposable; never mask the real outcome
                pass

    # -- queries ----------------------------------------------------------------------------------------------
    def _job_config(self, params: Mapping[str, Any]):
        cfg = bigquery.QueryJobConfig(
            default_dataset=f"{self.project}.{self.dataset}",
            query_parameters=[_param(k, v) for k, v in params.items()],
            labels=self.labels,
        )
        if self.maximum_bytes_billed:
            cfg.maximum_bytes_billed = self.maximum_bytes_billed
        return cfg

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        def run():
            job = self.client.query(sql, job_config=self._job_config(params or {}))
            return [dict(r.items()) for r in job.result()]

        return self._call("query", run)


# Tables partitioned on a job run's start time: a run's start never changes, so a key's rows always sit in the
# same partition and a MERGE may look only at the batch's partitions. (LoadProblems partitions on DetectedAt,
# which changes on every retry, so its MERGE must see the whole table.)
RUN_START_PARTITIONS = ("StartTime", "JobRunStartTime")


def partition_window(t: Table, rows: Sequence[Row]) -> tuple[datetime, datetime] | None:
    """The batch's first and last partition values, when the MERGE may be pruned to them."""
    if t.partition not in RUN_START_PARTITIONS:
        return None
    values = [r.get(t.partition) for r in rows]
    if not values or not all(isinstance(v, datetime) for v in values):
        return None  # a NULL start sits in the __NULL__ partition; keep the unpruned MERGE for such a batch
    return min(values), max(values)


def merge_sql(t: Table, target: str, staging: str, replace: bool, pruned: bool) -> str:
    """MERGE the staging rows into `target` on the natural key (parameters @partition_start/@partition_end).

    With `pruned`, the target side is limited to the batch's partitions: without it every MERGE reads the key
    columns of the whole table, once per job and uploader per cycle.
    """
    on = " AND ".join(f"T.`{k}` = S.`{k}`" for k in t.key)
    if pruned:
        on += f" AND T.`{t.partition}` BETWEEN @partition_start AND @partition_end"
    cols = ", ".join(f"`{c}`" for c in t.column_names)
    # Dedupe the staging rows on the key (last one wins) so a batch cannot collide with itself.
    source = (
        f"(SELECT * EXCEPT(_rn) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        f"{', '.join(f'`{k}`' for k in t.key)}) AS _rn FROM `{staging}`) WHERE _rn = 1)"
    )
    update = ""
    if replace:
        sets = ", ".join(f"`{c}` = S.`{c}`" for c in t.column_names if c not in t.key)
        update = f" WHEN MATCHED THEN UPDATE SET {sets}"
    return (
        f"MERGE `{target}` T USING {source} S ON {on}{update} "
        f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({', '.join(f'S.`{c}`' for c in t.column_names)})"
    )


def _run(job):
    job.result()
    return job


def _json_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def _param(name: str, value: Any):
    if isinstance(value, (list, tuple)):
        kind = next((t for py, t in PARAM_TYPES if value and isinstance(value[0], py)), "STRING")
        return bigquery.ArrayQueryParameter(name, kind, list(value))
    kind = next((t for py, t in PARAM_TYPES if isinstance(value, py)), "STRING")
    return bigquery.ScalarQueryParameter(name, kind, value)


def _make_client(project: str, credentials_file: str | None):
    from google.api_core.client_options import ClientOptions

    emulator = os.environ.get("BIGQUERY_EMULATOR_HOST")
    if emulator:
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=project, credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=emulator)
        )
    if credentials_file:
        from google.oauth2 import service_account

        try:
            creds = service_account.Credentials.from_service_account_file(credentials_file)
        except Exception as exc:  # any shape of bad key file (a JSON list: AttributeError)
            # Name the file and the problem, never the contents.
            raise ConfigError(f"{credentials_file}: not a usable service-account key ({type(exc).__name__})") from None
        return bigquery.Client(project=project, credentials=creds)
    try:
        return bigquery.Client(project=project)
    except Exception as exc:
        raise ConfigError(
            "no Google credentials: pass --google-service-account-credential-file or set up "
            f"Application Default Credentials ({type(exc).__name__})"
        ) from None
