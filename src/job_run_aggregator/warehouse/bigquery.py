"""BigQuery warehouse: partitioned tables, batched NDJSON load jobs merged on the natural key."""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeAlias, TypeVar


from job_run_aggregator import network
from job_run_aggregator.errors import ConfigError, JraError, TableMissing, TransientError
from job_run_aggregator.retry import retry_call
from job_run_aggregator.warehouse.base import Capabilities, Row, WarehouseBase
from job_run_aggregator.warehouse.schema import Table, table

try:
    import requests
    import urllib3
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc
    from google.cloud import bigquery
except ImportError:  # pragma: no cover - exercised only without the extra
    bigquery = None  # type: ignore[assignment]

T = TypeVar("T")
# Any job the client hands back: get_job may answer with any kind (a string, so nothing is evaluated without the extra).
BigQueryJob: TypeAlias = (
    "bigquery.LoadJob | bigquery.CopyJob | bigquery.ExtractJob | bigquery.QueryJob | bigquery.UnknownJob"
)

log = logging.getLogger(__name__)

STAGING_PREFIX = "_staging_"
# Staging tables expire on their own (a crash between load and MERGE leaves no permanent litter) and the ones past
# this age are swept when a writer starts; younger ones may belong to another writer's load in flight.
STAGING_TTL = timedelta(hours=1)
# Seconds to wait for one job (load, MERGE, query) to finish; its HTTP requests have their own limits (network.py).
JOB_TIMEOUT = 600.0
# BigQuery's refusals that pass with time: rate limits ("Exceeded rate limits: too many table update operations
# for this table", "too many DML statements outstanding") and DML statements that lost a race with a concurrent
# one ("Could not serialize access to table … due to concurrent update", "Transaction is aborted due to concurrent
# update"). https://cloud.google.com/bigquery/docs/troubleshoot-quotas
TRANSIENT_REASONS = {"rateLimitExceeded", "jobRateLimitExceeded", "backendError", "internalError"}
TRANSIENT_PHRASES = ("exceeded rate limits", "too many table update operations", "too many dml statements",
                     "due to concurrent update", "could not serialize access")

# Engine differences are data: BigQuery reports INTEGER/FLOAT under their legacy names too.
TYPE_BACK = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN"}
PARAM_TYPES = (
    (bool, "BOOL"), (int, "INT64"), (float, "FLOAT64"), (datetime, "TIMESTAMP"), (date, "DATE"), (str, "STRING"),
)


def render_schema(t: Table) -> list[Any]:
    return [bigquery.SchemaField(c.name, c.type, mode="REQUIRED" if c.required else "NULLABLE") for c in t.columns]


def translate_error(exc: Exception, what: str) -> JraError | None:
    """Map a Google or network exception onto our tree (None: not ours to translate: a bug)."""
    if bigquery is None:
        return None
    if isinstance(exc, gexc.NotFound):
        return TableMissing(f"{what}: not found ({exc.message}); run create-tables first")
    if isinstance(exc, gexc.GoogleAPICallError) and _passes_with_time(exc):
        return TransientError(f"{what}: BigQuery is busy ({_first_line(exc.message)})")
    if isinstance(exc, (gexc.TooManyRequests, gexc.ServerError, gexc.ServiceUnavailable)):
        return TransientError(f"{what}: BigQuery answered {exc.code}")
    if isinstance(exc, json.JSONDecodeError):  # requests' own JSONDecodeError too: a body cut under a short length
        return TransientError(f"{what}: BigQuery's answer was cut short (not valid JSON)")
    if isinstance(exc, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                        ConnectionError, TimeoutError, gexc.RetryError, auth_exc.TransportError)):
        # Refused, reset, stalled, or a body cut under its true length.
        return TransientError(f"{what}: cannot reach BigQuery ({type(exc).__name__})")
    if isinstance(exc, gexc.GoogleAPICallError):
        return JraError(f"{what}: BigQuery refused the request: {_first_line(exc.message)}")
    return None


def _passes_with_time(exc: Any) -> bool:
    reasons = {e.get("reason") for e in (getattr(exc, "errors", None) or []) if isinstance(e, dict)}
    message = str(getattr(exc, "message", "") or exc).lower()
    return bool(reasons & TRANSIENT_REASONS) or any(p in message for p in TRANSIENT_PHRASES)


def _first_line(message: str) -> str:
    # A failed job's message ends with a multi-line footer (location, job id), and a refused request's starts with
    # "POST https://…/jobs?prettyPrint=false: ": the first line without the request is what a user can act on.
    first = (message or "").strip().splitlines()[0] if message else ""
    return re.sub(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ", "", first)


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
        job_timeout: float = JOB_TIMEOUT,
        staging_ttl: timedelta = STAGING_TTL,
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
        # Every request gets connect/read timeouts and a deadline (network.py); without them a stalled BigQuery
        # connection waits forever (the client passes no timeout), retried by the client for 10 minutes more.
        network.bound_session(self.client._http)
        self.job_timeout, self.staging_ttl = job_timeout, staging_ttl
        self._known_tables: set[str] = set()
        self._jobs = 0
        self._jobs_lock = threading.Lock()

    @property
    def jobs_run(self) -> int:
        """BigQuery jobs (loads, MERGEs, queries) this object has started, retries included."""
        return self._jobs

    def _count_job(self) -> None:
        with self._jobs_lock:
            self._jobs += 1

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _ref(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # The client's own retry layers are off at every call (retry=None, job_retry=None, num_retries=0): they
        # would retry for up to 10 minutes (jobs: 40) behind our backs. One layer, ours, with a known budget.
        def attempt() -> T:
            with network.operation(f"{self.url}: {what}") as op:
                try:
                    return fn(*args, **kwargs)
                except Exception as exc:  # translated at this one edge
                    mapped = op.check(exc) or translate_error(exc, f"{self.url}: {what}")
                    if mapped is None:
                        raise
                    raise mapped from exc

        return retry_call(attempt, what=what)

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def lock(self, owner: str, timeout: float = 0.0) -> Iterator[None]:
        # No lock service in BigQuery: loads MERGE on the natural key, so two writers cannot double a row. A
        # writer starting is the moment to sweep staging tables that a killed writer left behind.
        self.sweep_staging()
        yield

    def sweep_staging(self) -> list[str]:
        """Delete staging tables older than `staging_ttl` (left by a crash); return their names."""
        cutoff = datetime.now(timezone.utc) - self.staging_ttl
        listed = self._call(f"list dataset {self.dataset}",
                            lambda: list(self.client.list_tables(f"{self.project}.{self.dataset}", retry=None)))
        swept = []
        for item in listed:
            if not item.table_id.startswith(STAGING_PREFIX):
                continue
            created = item.created
            expired = item.expires is not None and item.expires <= datetime.now(timezone.utc)
            if expired or created is None or created <= cutoff:
                self._call(f"delete {item.table_id}", self.client.delete_table, self._ref(item.table_id),
                           not_found_ok=True, retry=None)
                swept.append(item.table_id)
        if swept:
            log.info("%s: removed %d staging table(s) left by an interrupted upload", self.url, len(swept))
        return swept

    # -- tables -----------------------------------------------------------------------------------------------
    def _prepare(self, dry_run: bool) -> None:
        ds = bigquery.Dataset(f"{self.project}.{self.dataset}")
        if self.location:
            ds.location = self.location
        if not dry_run:
            self._call(f"dataset {self.dataset}", self.client.create_dataset, ds, exists_ok=True, retry=None)

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
            self._call(f"table {t.name}", self.client.create_table, bt, retry=None)
        return json.dumps([f.to_api_repr() for f in render_schema(t)])

    def _get_table(self, name: str) -> Any:
        def get() -> Any:
            try:
                return self.client.get_table(self._ref(name), retry=None)
            except gexc.NotFound:
                return None

        return self._call(f"table {name}", get)

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
        """MERGE `rows` into `t` through a staging table; return how many rows the MERGE inserted (or updated).

        The count is the affected-row count of the one MERGE job that ran: when its answer is lost and the call is
        retried, the retry asks for that job instead of running a second MERGE (which would insert 0 rows and
        make the summary undercount).
        """
        if not rows:
            return 0
        staging = f"{STAGING_PREFIX}{t.name}_{uuid.uuid4().hex[:12]}"
        data = "\n".join(json.dumps({k: _json_value(r.get(k)) for k in t.column_names}) for r in rows).encode()
        schema = [bigquery.SchemaField(c.name, c.type, mode="NULLABLE") for c in t.columns]
        cfg = bigquery.LoadJobConfig(
            schema=schema,
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        )
        # Created empty with an expiration first, so a crash before the delete below leaves nothing for good.
        holder = bigquery.Table(self._ref(staging), schema=schema)
        holder.expires = datetime.now(timezone.utc) + self.staging_ttl
        try:
            self._call(f"stage {t.name}", self.client.create_table, holder, exists_ok=True, retry=None)
            self._job(f"load into {t.name}", lambda job_id: self.client.load_table_from_file(
                io.BytesIO(data), self._ref(staging), job_config=cfg, num_retries=0, job_id=job_id))
            window = partition_window(t, rows)
            sql = merge_sql(t, self._ref(t.name), self._ref(staging), replace, pruned=window is not None)
            params = {"partition_start": window[0], "partition_end": window[1]} if window else {}
            job = self._job(f"merge into {t.name}", lambda job_id: self._start_query(sql, params, job_id))
        except TransientError:
            # BigQuery is out of reach: do not spend more time on litter; the table expires, the next writer sweeps.
            raise
        except BaseException:
            self._drop_staging(staging, retried=False)
            raise
        self._drop_staging(staging, retried=True)
        return int(getattr(job, "num_dml_affected_rows", None) or 0)

    def _drop_staging(self, name: str, retried: bool) -> None:
        """Delete a staging table: within the retry budget after a MERGE, once when failing (it expires anyway)."""
        def drop():
            self.client.delete_table(self._ref(name), not_found_ok=True, retry=None)

        try:
            if retried:
                self._call(f"delete {name}", drop)
            else:
                drop()
        except Exception as exc:  # never mask the real outcome; the table's expiration removes it
            log.warning("%s: staging table %s not deleted (%s); it expires on its own", self.url, name,
                        type(exc).__name__)

    def _start_query(self, sql: str, params: Mapping[str, Any], job_id: str | None = None) -> bigquery.QueryJob:
        return self.client.query(sql, job_config=self._job_config(params), job_id=job_id, retry=None,
                                 job_retry=None)

    def _job(self, what: str, start: Callable[[str], BigQueryJob]) -> BigQueryJob:
        """Run one BigQuery job to completion within our retry budget; `start(job_id)` creates it.

        Each try that creates a job names it, so a try after a lost answer (a reset, a cut body, a stall) first
        asks BigQuery for that job: finished well, it is the result; still running, it is waited for; never
        created or failed for a passing reason (a rate limit, a concurrent update), a new job is started.
        """
        started: list[str] = []

        def attempt() -> BigQueryJob:
            job = self._find_job(started[-1]) if started else None
            if job is None:
                job_id = f"jra_{uuid.uuid4().hex}"
                started.append(job_id)
                self._count_job()
                job = start(job_id)
            job.result(retry=None, timeout=self.job_timeout)
            return job

        return self._call(what, attempt)

    def _find_job(self, job_id: str) -> BigQueryJob | None:
        """The job a lost answer belonged to, or None when it must be started again."""
        try:
            job = self.client.get_job(job_id, project=self.project, location=self.location, retry=None)
        except gexc.NotFound:
            return None
        if job.state == "DONE" and job.error_result:
            return None  # it failed (for a reason that passes with time, or the retry would have stopped)
        return job

    # -- queries ----------------------------------------------------------------------------------------------
    def _job_config(self, params: Mapping[str, Any]) -> Any:
        cfg = bigquery.QueryJobConfig(
            default_dataset=f"{self.project}.{self.dataset}",
            query_parameters=[_param(k, v) for k, v in params.items()],
            labels=self.labels,
        )
        if self.maximum_bytes_billed:
            cfg.maximum_bytes_billed = self.maximum_bytes_billed
        return cfg

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        def run() -> list[Row]:
            self._count_job()
            job = self._start_query(sql, params or {})
            return [dict(r.items()) for r in job.result(retry=None, timeout=self.job_timeout)]

        # A read is simply asked again after a lost answer: it changes nothing.
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
    starts = [v for v in values if isinstance(v, datetime)]
    if not values or len(starts) != len(values):
        return None  # a NULL start sits in the __NULL__ partition; keep the unpruned MERGE for such a batch
    return min(starts), max(starts)


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


def _json_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def _param(name: str, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        kind = next((t for py, t in PARAM_TYPES if value and isinstance(value[0], py)), "STRING")
        return bigquery.ArrayQueryParameter(name, kind, list(value))
    kind = next((t for py, t in PARAM_TYPES if isinstance(value, py)), "STRING")
    return bigquery.ScalarQueryParameter(name, kind, value)


def _make_client(project: str, credentials_file: str | None) -> Any:
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
