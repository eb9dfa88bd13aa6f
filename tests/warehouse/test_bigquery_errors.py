"""BigQuery errors translated at one edge (issues 21, 23): what passes with time is transient, the rest one line."""

from __future__ import annotations

import json

import pytest
import requests
from google.api_core import exceptions as gexc

from job_run_aggregator.errors import JraError, TableMissing, TransientError
from job_run_aggregator.warehouse.bigquery import translate_error

RATE = ("POST https://bigquery.googleapis.com/bigquery/v2/projects/p/jobs?prettyPrint=false: Exceeded rate limits: "
        "too many table update operations for this table. For more information, see "
        "https://cloud.google.com/bigquery/docs/troubleshoot-quotas")
CONCURRENT = "Could not serialize access to table p:ci_data.JobRuns due to concurrent update"


@pytest.mark.parametrize(("exc", "kind", "message"), [
    pytest.param(gexc.Forbidden(RATE, errors=[{"reason": "rateLimitExceeded"}]), TransientError,
                 "merge: BigQuery is busy (Exceeded rate limits: too many table update operations for this table. "
                 "For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas)",
                 id="rate-limit-403"),
    pytest.param(gexc.Forbidden("Exceeded rate limits: too many api requests per user per method"), TransientError,
                 "merge: BigQuery is busy (Exceeded rate limits: too many api requests per user per method)",
                 id="rate-limit-by-text"),
    pytest.param(gexc.BadRequest(CONCURRENT, errors=[{"reason": "invalidQuery"}]), TransientError,
                 f"merge: BigQuery is busy ({CONCURRENT})", id="concurrent-dml"),
    pytest.param(gexc.BadRequest("Transaction is aborted due to concurrent update against table p:d.t"),
                 TransientError, "merge: BigQuery is busy (Transaction is aborted due to concurrent update against "
                 "table p:d.t)", id="aborted-transaction"),
    pytest.param(gexc.InternalServerError("boom", errors=[{"reason": "backendError"}]), TransientError,
                 "merge: BigQuery is busy (boom)", id="backend-error"),
    pytest.param(gexc.ServiceUnavailable("down"), TransientError, "merge: BigQuery answered 503", id="503"),
    pytest.param(requests.exceptions.ConnectionError("refused"), TransientError,
                 "merge: cannot reach BigQuery (ConnectionError)", id="refused"),
    pytest.param(requests.exceptions.ReadTimeout("stalled"), TransientError,
                 "merge: cannot reach BigQuery (ReadTimeout)", id="stalled"),
    pytest.param(requests.exceptions.JSONDecodeError("Expecting value", '{"kind": "bigq', 14), TransientError,
                 "merge: BigQuery's answer was cut short (not valid JSON)", id="truncated-json"),
    pytest.param(json.JSONDecodeError("Unterminated string", '{"a": "b', 6), TransientError,
                 "merge: BigQuery's answer was cut short (not valid JSON)", id="truncated-json-stdlib"),
    pytest.param(gexc.RetryError("deadline", ConnectionError()), TransientError,
                 "merge: cannot reach BigQuery (RetryError)", id="retry-error"),
    pytest.param(TimeoutError(), TransientError, "merge: cannot reach BigQuery (TimeoutError)", id="job-wait-timeout"),
    pytest.param(gexc.NotFound("Not found: Table p:d.JobRuns"), TableMissing,
                 "merge: not found (Not found: Table p:d.JobRuns); run create-tables first", id="not-found"),
    pytest.param(gexc.BadRequest("POST https://x/jobs: Syntax error: Unexpected keyword\n\nLocation: US\nJob ID: j"),
                 JraError, "merge: BigQuery refused the request: Syntax error: Unexpected keyword", id="refused-sql"),
])
def test_errors_are_classified_with_one_line(exc, kind, message):
    mapped = translate_error(exc, "merge")
    assert type(mapped) is kind
    assert str(mapped) == message


def test_a_bug_is_not_translated():
    assert translate_error(KeyError("x"), "merge") is None
