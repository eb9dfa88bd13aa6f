"""prime-job-table over the real reference list into DuckDB, idempotent re-priming, --update, jobs listing."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
from typer.testing import CliRunner

from job_run_aggregator.cli import app


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_reference_job_names_prime_into_duckdb(duckdb_url, reference):
    names = str(reference / "job_names_2023-02.txt")
    assert run("--warehouse", duckdb_url, "create-tables").exit_code == 0
    first = run("--warehouse", duckdb_url, "prime-job-table", "--job-names-file", names)
    assert first.exit_code == 0, first.output
    assert "Jobs: 673 new, 0 unchanged, 0 updated, 0 rejected" in first.output
    second = run("--warehouse", duckdb_url, "prime-job-table", "--job-names-file", names)
    assert "Jobs: 0 new, 673 unchanged, 0 updated, 0 rejected" in second.output
    listed = run("--warehouse", duckdb_url, "jobs", "--json")
    rows = json.loads(listed.stdout)
    assert len(rows) == 673
    platforms = Counter(r["Platform"] for r in rows)
    assert platforms["aws"] == 275 and platforms["gcp"] == 82 and platforms[""] == 29
    assert Counter(r["Topology"] for r in rows) == {"ha": 631, "single": 32, "external": 10}
    assert all(r["CollectDisruption"] and r["GCSJobHistoryLocationPrefix"] == f"logs/{r['JobName']}" for r in rows)
    aws_413 = json.loads(run("--warehouse", duckdb_url, "jobs", "--platform", "aws", "--release", "4.13", "--json").stdout)
    assert aws_413 and all(r["Platform"] == "aws" and r["Release"] == "4.13" for r in aws_413)


def test_update_corrects_rows_written_by_the_go_tool(duckdb_url, tmp_path):
    name = "periodic-ci-openshift-release-master-nightly-4.13-e2e-metal-ipi-ovn-ipv6"
    names = tmp_path / "names.txt"
    names.write_text(f"// header\n{name}\n\n{name}\n")
    run("--warehouse", duckdb_url, "create-tables")
    assert "1 new" in run("--warehouse", duckdb_url, "prime-job-table", "--job-names-file", str(names)).output
    path = duckdb_url.removeprefix("duckdb:///")
    con = duckdb.connect(path)
    con.execute("UPDATE Jobs SET IPMode = 'ipv4'")  # what the Go tool always wrote
    con.close()
    dry = run("--warehouse", duckdb_url, "prime-job-table", "--job-names-file", str(names))
    assert "IPMode: 'ipv4' -> 'ipv6'" in dry.output and "would update (use --update)" in dry.output
    fixed = run("--warehouse", duckdb_url, "prime-job-table", "--job-names-file", str(names), "--update")
    assert "0 new, 0 unchanged, 1 updated, 0 rejected" in fixed.output
    rows = json.loads(run("--warehouse", duckdb_url, "jobs", "--json").stdout)
    assert [r["IPMode"] for r in rows] == ["ipv6"]


def test_rejected_names_are_reported_and_the_rest_loads(duckdb_url, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("periodic-ci-no-release-here-e2e-aws\nperiodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn\n")
    run("--warehouse", duckdb_url, "create-tables")
    out = run("--warehouse", duckdb_url, "prime-job-table", "--job-names-file", str(names))
    assert out.exit_code == 0
    assert "rejected periodic-ci-no-release-here-e2e-aws: no known release" in out.output
    assert "1 new, 0 unchanged, 0 updated, 1 rejected" in out.output


def test_dry_run_writes_nothing(duckdb_url, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn\n")
    run("--warehouse", duckdb_url, "create-tables")
    out = run("--warehouse", duckdb_url, "--dry-run", "prime-job-table", "--job-names-file", str(names))
    assert '"JobName": "periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn"' in out.stdout
    assert json.loads(run("--warehouse", duckdb_url, "jobs", "--json").stdout) == []
