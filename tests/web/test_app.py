"""The dashboard's JSON twins, in process, on the demo warehouse: the numbers are the export's."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web.site import DEMO_MIN_RUNS, HOSTILE_BACKEND, HOSTILE_JOB, HOSTILE_RUNS, Demo

from job_run_aggregator.history.results_file import read_query_results
from job_run_aggregator.jobs.variants import variant_for
from job_run_aggregator.matching.matcher import job_type_for, load_historical
from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse
from job_run_aggregator.web import create_app
from job_run_aggregator.web.snapshot import SnapshotStore

VARIANT = ("Release", "FromRelease", "Platform", "Architecture", "Network", "Topology")
PAGES = ("/", "/trend", "/cell", "/compare", "/match")


def key(row: dict) -> tuple:
    return (row.get("BackendName") or row.get("name"), *(row[c] for c in VARIANT))


def exported(demo: Demo) -> dict[tuple, dict]:
    return {key(r): r for r in read_query_results(demo.backend_file.read_bytes(), str(demo.backend_file))}


def get(client: TestClient, path: str, demo: Demo, **params: str) -> dict:
    response = client.get(path, params={"now": demo.now_param, **params})
    assert response.headers["content-type"].startswith("application/json"), response.text
    return {"status": response.status_code, **response.json()}


def worst_cell(client: TestClient, demo: Demo) -> dict:
    return get(client, "/overview.json", demo, release="4.14")["worst"][0]


def cell_query(cell: dict) -> dict[str, str]:
    return {"backend": cell["BackendName"], "release": cell["Release"], "from_release": cell["FromRelease"],
            "platform": cell["Platform"], "architecture": cell["Architecture"], "network": cell["Network"],
            "topology": cell["Topology"]}


# ---- overview -------------------------------------------------------------------------------------------------


def test_overview_cells_with_enough_runs_are_the_export(client: TestClient, demo: Demo) -> None:
    data = get(client, "/overview.json", demo, release="4.14")
    assert data["status"] == 200 and data["state"] == "ok"
    assert data["filters"] == {"release": "4.14", "upgrade": "all", "min_runs": DEMO_MIN_RUNS, "days": 21,
                               "now": demo.now_param, "platform": "", "architecture": "", "network": "",
                               "topology": "", "from_release": "", "q": "", "values": "export", "against": "",
                               "leeway": 30.0}
    shown = {key(c): c for c in data["cells"] if not c["greyed"]}
    export = exported(demo)
    assert shown.keys() == export.keys()
    for k, row in export.items():
        assert shown[k]["JobRuns"] == row["JobRuns"]
        assert shown[k]["P95"] == float(row["P95"]), k
        assert shown[k]["P99"] == float(row["P99"]), k
    greyed = [c for c in data["cells"] if c["greyed"]]
    assert {c["BackendName"] for c in greyed} == {"openshift-api-new-connections", HOSTILE_BACKEND}
    assert all(c["JobRuns"] == HOSTILE_RUNS and c["Platform"] == "gcp" for c in greyed)
    assert data["greyed_cells"] == 2


def test_overview_orders_worst_first_and_links_to_the_drill_down(client: TestClient, demo: Demo) -> None:
    data = get(client, "/overview.json", demo, release="4.14")
    p99s = [c["P99"] for c in data["cells"] if not c["greyed"]]
    assert [c["P99"] for c in data["worst"]] == sorted(p99s, reverse=True)[:5]
    top = data["worst"][0]
    assert data["backends"][0] == top["BackendName"]
    assert data["variants"][0]["key"] == top["variant"]
    assert top["href"].startswith("/cell?backend=" + quote(top["BackendName"]))
    assert f"now={quote(demo.now_param, safe='')}" in top["href"]


def test_overview_defaults_to_the_newest_release_and_filters(client: TestClient, demo: Demo) -> None:
    default = get(client, "/overview.json", demo)
    assert default["releases"] == ["4.14", "4.13"]
    assert default["filters"]["release"] == "4.14"
    every = get(client, "/overview.json", demo, release="all")
    assert {c["Release"] for c in every["cells"]} == {"4.13", "4.14"}
    upgrade = get(client, "/overview.json", demo, release="all", upgrade="upgrade")
    other = get(client, "/overview.json", demo, release="all", upgrade="non-upgrade")
    assert upgrade["cells"] and all(c["FromRelease"] for c in upgrade["cells"])
    assert other["cells"] and not any(c["FromRelease"] for c in other["cells"])
    assert len(upgrade["cells"]) + len(other["cells"]) == len(every["cells"])


def test_overview_greys_cells_under_the_minimum(client: TestClient, demo: Demo) -> None:
    data = get(client, "/overview.json", demo, release="4.14", min_runs="1000")
    assert data["cells"] and all(c["greyed"] for c in data["cells"])
    assert data["worst"] == []


# ---- drill-down and trend -------------------------------------------------------------------------------------


def test_cell_lists_every_run_worst_first_with_the_export_numbers(client: TestClient, demo: Demo) -> None:
    cell = worst_cell(client, demo)
    data = get(client, "/cell.json", demo, **cell_query(cell))
    assert data["status"] == 200 and data["state"] == "ok"
    assert data["history"] == {"JobRuns": cell["JobRuns"], "P95": cell["P95"], "P99": cell["P99"], "pooled": False,
                               "pooled_runs": cell["JobRuns"], "arch_P95": cell["P95"], "arch_P99": cell["P99"]}
    seconds = [r["Seconds"] for r in data["runs"]]
    assert len(seconds) == cell["JobRuns"]
    assert seconds == sorted(seconds, reverse=True)
    # The demo's worst variant runs on one architecture only, so its runs alone give the exported values.
    assert data["summary"]["p99"] == pytest.approx(np.percentile(seconds, 99))
    assert cell["P99"] == pytest.approx(np.percentile(seconds, 99))
    assert data["note"] == ""
    run = data["runs"][0]
    assert run["folder_url"].startswith(f"/bucket/logs/{quote(run['JobName'], safe='')}/{run['JobRunName']}/?back=%2Fcell%3F")
    assert run["prow_url"] is None


def test_cell_links_gcs_runs_to_prow(make_app: Callable[..., Starlette], demo: Demo) -> None:
    client = TestClient(make_app("gs://test-platform-results"))
    cell = worst_cell(client, demo)
    run = get(client, "/cell.json", demo, **cell_query(cell))["runs"][0]
    path = f"logs/{run['JobName']}/{run['JobRunName']}"
    assert run["prow_url"] == f"https://prow.ci.openshift.org/view/gs/test-platform-results/{path}"
    assert run["folder_url"] == f"https://console.cloud.google.com/storage/browser/test-platform-results/{path}"
    assert client.get(f"/bucket/{path}/").status_code == 404


def test_cell_notes_the_architecture_quirk(client: TestClient, demo: Demo) -> None:
    export = exported(demo)
    arm = next(r for r in export.values() if r["Architecture"] == "arm64")
    data = get(client, "/cell.json", demo, **cell_query(arm))
    seconds = [r["Seconds"] for r in data["runs"]]
    assert data["history"]["P99"] == float(arm["P99"])
    history = data["history"]
    assert history["arch_P99"] == pytest.approx(np.percentile(seconds, 99))
    if history["pooled"]:  # an amd64 twin of the variant exists: the export pools them, and the page says so
        assert history["pooled_runs"] > history["JobRuns"] == len(seconds)
        assert data["note"].startswith(f"The export's P95/P99 are computed over {history['pooled_runs']} runs of "
                                       "every architecture of this variant")
    else:
        assert history["pooled_runs"] == history["JobRuns"] and data["note"] == ""
        assert history["P99"] == pytest.approx(history["arch_P99"])


def test_trend_days_are_the_runs_of_each_day(client: TestClient, demo: Demo) -> None:
    cell = worst_cell(client, demo)
    query = cell_query(cell)
    trend = get(client, "/trend.json", demo, rolling="1", **query)
    runs = get(client, "/cell.json", demo, **query)["runs"]
    by_day: dict[str, list[int]] = defaultdict(list)
    for r in runs:
        by_day[r["StartTime"][:10]].append(r["Seconds"])
    assert trend["state"] == "ok"
    assert trend["total_runs"] == len(runs) == cell["JobRuns"]
    start, end = datetime.fromisoformat(trend["window"]["start"]), datetime.fromisoformat(trend["window"]["end"])
    assert trend["days"][0]["day"] == start.date().isoformat()
    assert trend["days"][-1]["day"] == end.date().isoformat()
    for day in trend["days"]:
        values = by_day.get(day["day"], [])
        assert day["JobRuns"] == len(values)
        for p in (50, 95, 99):
            expected = np.percentile(values, p) if values else None
            assert day[f"P{p}"] == (pytest.approx(expected) if values else None), (day, p)


def test_a_cell_without_runs_is_an_empty_state(client: TestClient, demo: Demo) -> None:
    data = get(client, "/cell.json", demo, backend="no-such-backend", release="4.14", platform="aws")
    assert data["status"] == 200 and data["state"] == "no-data" and data["runs"] == []
    assert data["message"].startswith("No runs of no-such-backend on 4.14 · aws - - - between ")


# ---- compare ---------------------------------------------------------------------------------------------------


def test_compare_files_given_to_serve(make_app: Callable[..., Starlette], demo: Demo, tmp_path: Path) -> None:
    rows = json.loads(demo.backend_file.read_bytes())
    rows[0]["P99"] = str(float(rows[0]["P99"]) * 2 + 1)
    changed = tmp_path / "new.json"
    changed.write_text(json.dumps(rows, indent=2))
    client = TestClient(make_app(historical_files=[demo.backend_file, changed]))
    data = get(client, "/compare.json", demo, current=demo.backend_file.name, new="new.json")
    assert data["files"] == [demo.backend_file.name, "new.json"]
    assert data["sources"] == {"current": demo.backend_file.name, "new": "new.json"}
    assert data["state"] == "ok" and data["needs_review"] is True
    assert data["counts"] == {"increases": 1, "decreases": 0, "added": 0, "missing": 0, "within_leeway": 0,
                              "unchanged": len(rows) - 1}
    (only,) = data["changed"]
    assert (only["name"], only["kind"], only["new_P99"]) == (rows[0]["BackendName"], "increase", float(rows[0]["P99"]))
    assert data["summary"].startswith("Backend disruption historical data for 4.14 (P99 leeway 30%): 1 P99 increase")
    assert data["markdown"].startswith("**Backend disruption** historical data for **4.14** (P99 leeway 30%)")


def test_compare_with_the_warehouse_finds_the_export_unchanged(client: TestClient, demo: Demo) -> None:
    rows = json.loads(demo.backend_file.read_bytes())
    data = get(client, "/compare.json", demo, current=demo.backend_file.name, min_runs="20")
    # The warehouse side uses the real threshold (100 runs), so the demo's 20–99-run rows would be "missing".
    kept = [r for r in rows if r["JobRuns"] >= 100]
    assert data["counts"]["unchanged"] == len(kept)
    assert data["counts"]["missing"] == len(rows) - len(kept)
    assert data["counts"]["increases"] == data["counts"]["decreases"] == data["counts"]["added"] == 0


def test_compare_upload_equals_compare_by_name(make_app: Callable[..., Starlette], demo: Demo,
                                               tmp_path: Path) -> None:
    rows = json.loads(demo.backend_file.read_bytes())
    rows[1]["P99"] = "0.0"
    changed = tmp_path / "new.json"
    changed.write_text(json.dumps(rows))
    client = TestClient(make_app(historical_files=[demo.backend_file, changed]))
    by_path = get(client, "/compare.json", demo, current=demo.backend_file.name, new="new.json")
    upload = client.post("/compare.json", files={"current": ("cur.json", demo.backend_file.read_bytes()),
                                                 "new": ("new.json", changed.read_bytes())})
    assert upload.status_code == 200
    data = upload.json()
    assert data["sources"] == {"current": "cur.json", "new": "new.json"}
    for field in ("counts", "changed", "added", "missing", "summary"):
        assert data[field] == by_path[field]
    assert data["counts"]["decreases"] == 1


@pytest.mark.parametrize(("params", "message"), [
    pytest.param({}, "Choose the current query_results.json", id="nothing-given"),
    pytest.param({"current": "/nonexistent/q.json"}, "current='/nonexistent/q.json' is not one of the files given "
                 "to serve --historical-data (", id="a-server-path"),
])
def test_compare_without_usable_input(make_app: Callable[..., Starlette], demo: Demo, params: dict,
                                      message: str) -> None:
    data = get(TestClient(make_app(historical_files=[])), "/compare.json", demo, **params)
    assert data["message"].startswith(message)
    assert data["status"] == (200 if not params else 400)


def test_compare_rejects_a_bad_upload(client: TestClient) -> None:
    response = client.post("/compare.json", files={"current": ("bad.json", b"{not json")})
    assert response.status_code == 400
    assert response.json()["message"] == "bad.json: not valid JSON (Expecting property name enclosed in double " \
                                          "quotes at line 1 column 2)"


# ---- match explainer --------------------------------------------------------------------------------------------


def test_match_explains_an_exact_match(client: TestClient, demo: Demo) -> None:
    job = "periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade"
    data = get(client, "/match.json", demo, job=job)
    variant = variant_for(job)
    assert data["variant"]["Platform"] == variant.platform and data["variant"]["FromRelease"] == "4.13"
    assert data["job_type"] == dict(zip(VARIANT, job_type_for(job).values()))
    expected = load_historical(demo.backend_file.read_bytes(), str(demo.backend_file))
    assert data["source_label"] == demo.backend_file.name
    assert data["matched"] == len(data["matches"]) > 0
    for m in data["matches"]:
        want = expected.best_match(m["name"], job_type_for(job), "current", DEMO_MIN_RUNS)
        assert (m["p95"], m["p99"], m["job_runs"]) == (want.p95, want.p99, want.job_runs)
        assert [a["guesser"] for a in m["tried"]] == ["exact"] and m["is_fallback"] is False


def test_match_shows_the_fallback_chain(client: TestClient, demo: Demo) -> None:
    job = "periodic-ci-openshift-release-master-ci-4.15-e2e-aws-upgrade-ovn-single-node"
    data = get(client, "/match.json", demo, job=job, name="openshift-api-new-connections", min_runs="100")
    (m,) = data["matches"]
    assert m["found"] and m["is_fallback"]
    assert [(a["guesser"], a["outcome"]) for a in m["tried"]] == [("exact", "missing"), ("previous", "matched")]
    assert m["tried"][0]["label"] == "4.15 from 4.15 aws amd64 ovn single"
    assert m["matched_label"] == "4.14 from 4.14 aws amd64 ovn single"
    assert m["message"].startswith('(no exact match for historicaldata.DataKey{BackendName:"openshift-api-new-')


def test_match_a_job_type_against_the_warehouse(client: TestClient, demo: Demo) -> None:
    params = dict(release="4.14", from_release="4.14", platform="gcp", architecture="amd64", network="ovn",
                  topology="ha", name=HOSTILE_BACKEND, source="warehouse", rules="2023")
    (m,) = get(client, "/match.json", demo, **params)["matches"]
    # HOSTILE_RUNS runs: present, but under the 2023 rules' threshold; no guesser finds another key.
    assert m["tried"][0] == {"guesser": "exact", "key": {"name": HOSTILE_BACKEND, **{
        c: params[p] for c, p in zip(VARIANT, ("release", "from_release", "platform", "architecture", "network",
                                                 "topology"))}}, "outcome": "too few job runs",
        "job_runs": HOSTILE_RUNS, "label": "4.14 from 4.14 gcp amd64 ovn ha"}
    assert not m["found"]


@pytest.mark.parametrize(("params", "status", "message"), [
    pytest.param({}, 200, "Give a job name, or a JobType (at least a release).", id="nothing"),
    pytest.param({"job": "periodic-ci-no-version"}, 400, "periodic-ci-no-version: no known release in the job name",
                 id="no-release"),
    pytest.param({"job": "x-4.14", "rules": "2021"}, 400, "rules='2021': choose one of current, 2023, 2022",
                 id="rules"),
    pytest.param({"job": "x-4.14", "source": "7"}, 400, "source='7': no such historical data file", id="source"),
])
def test_match_bad_queries(client: TestClient, demo: Demo, params: dict, status: int, message: str) -> None:
    data = get(client, "/match.json", demo, **params)
    assert data["status"] == status
    assert data["message"].startswith(message)


# ---- empty states, errors, read-only -----------------------------------------------------------------------------


def test_no_warehouse_file_is_an_empty_state(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("[]")
    for snapshots in (None, SnapshotStore(tmp_path / "none.duckdb", tmp_path / "copies")):
        app = create_app(lambda: DuckDBWarehouse(tmp_path / "none.duckdb", read_only=True), str(tmp_path),
                         [tmp_path / "empty.json"], snapshots=snapshots)
        client = TestClient(app)
        for path in ("/", "/overview.json", "/trend?backend=a&release=4.14", "/cell.json?backend=a&release=4.14",
                     "/match?job=x-4.14&source=warehouse", "/compare?current=empty.json"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "No data tables yet. Load data first: job-run-aggregator demo, or create-tables" in response.text
            assert "Traceback" not in response.text and str(tmp_path) not in response.text


def test_empty_tables_and_an_empty_window(tmp_path: Path, client: TestClient, demo: Demo) -> None:
    path = tmp_path / "empty.duckdb"
    writer = DuckDBWarehouse(path)
    writer.create_tables()
    writer.close()
    empty = TestClient(create_app(lambda: DuckDBWarehouse(path, read_only=True), str(tmp_path)))
    data = empty.get("/overview.json").json()
    assert (data["state"], data["message"]) == ("no-data", "The Jobs table is empty: prime it (prime-job-table) "
                                                "and load runs (upload-all).")
    old = client.get("/overview.json", params={"now": "2001-01-01T00:00:00Z"}).json()
    assert old["state"] == "no-data"
    assert old["message"] == ("No disruption data for 4.14 between 2000-12-11 00:00 and 2001-01-01 00:00 UTC. "
                              "Widen the window (days) or pick another release.")


def test_a_busy_warehouse_is_503_with_a_clear_message(demo: Demo, tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    path.write_bytes(demo.warehouse.read_bytes())
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(path)!r}); print('ready', flush=True); "
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        app = create_app(lambda: DuckDBWarehouse(path, read_only=True, open_timeout=0.3), str(demo.bucket))
        client = TestClient(app)
        response = client.get("/overview.json")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["message"] == ("The warehouse is unavailable right now (LockBusy); try again in a "
                                              "few seconds.")
        page = client.get("/")
        assert page.status_code == 503 and "The warehouse is unavailable" in page.text and "Traceback" not in page.text
        # No paths, no process ids, no interpreter: nothing about the server beyond the fact.
        for text in (response.text, page.text):
            assert str(tmp_path) not in text and sys.executable not in text and str(holder.pid) not in text
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_bug_is_500_without_internals(demo: Demo) -> None:
    def broken() -> DuckDBWarehouse:
        raise RuntimeError("secret internals")

    client = TestClient(create_app(broken, str(demo.bucket)), raise_server_exceptions=False)
    for path in ("/", "/overview.json"):
        response = client.get(path)
        assert response.status_code == 500
        assert "Internal error (RuntimeError); see the server log." in response.text
        assert "secret internals" not in response.text and "Traceback" not in response.text


@pytest.mark.parametrize(("params", "message"), [
    pytest.param({"days": "abc"}, "days='abc' is not a whole number", id="days"),
    pytest.param({"days": "0"}, "days=0 is out of range (1 to 400)", id="days-range"),
    pytest.param({"now": "yesterday"}, "now='yesterday' is not an ISO date-time like 2024-06-01T12:00:00Z", id="now"),
    pytest.param({"upgrade": "maybe"}, "upgrade='maybe': choose one of all, upgrade, non-upgrade", id="upgrade"),
])
def test_bad_parameters_are_400(client: TestClient, params: dict, message: str) -> None:
    response = client.get("/overview.json", params=params)
    assert (response.status_code, response.json()["message"]) == (400, message)
    page = client.get("/", params=params)
    assert page.status_code == 400 and message.replace("'", "&#39;") in page.text


def test_a_cell_needs_a_backend_and_release(client: TestClient) -> None:
    response = client.get("/trend.json", params={"release": "4.14"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("give backend and release")


def test_read_only_no_endpoint_writes(client: TestClient, demo: Demo) -> None:
    before = hashlib.sha256(demo.warehouse.read_bytes()).hexdigest()
    for path in PAGES:
        for twin in (path, ("/overview" if path == "/" else path) + ".json"):
            for method in ("put", "delete", "patch"):
                assert getattr(client, method)(twin).status_code == 405, (method, twin)
            if path != "/compare":
                assert client.post(twin).status_code == 405, twin
            assert client.get(twin, params={"now": demo.now_param}).status_code in (200, 400)
    assert hashlib.sha256(demo.warehouse.read_bytes()).hexdigest() == before


def test_unknown_pages_are_404_pages(client: TestClient) -> None:
    page = client.get("/nope")
    assert page.status_code == 404 and "Not Found" in page.text and "<html" in page.text
    assert client.get("/nope.json").json() == {"state": "error", "message": "Not Found"}


def test_security_headers_and_host_guard(make_app: Callable[..., Starlette]) -> None:
    client = TestClient(make_app(allowed_hosts=["127.0.0.1", "localhost"]), base_url="http://127.0.0.1")
    response = client.get("/static/dashboard.css")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_names_from_data_are_escaped(client: TestClient, demo: Demo) -> None:
    page = client.get("/", params={"now": demo.now_param}).text
    assert "&lt;img src=x onerror=alert(2)&gt;-new-connections" in page
    assert "<img src=x" not in page
    assert "\\u003cimg src=x onerror=alert(2)\\u003e" in page  # inside the JSON data block
    query = {"backend": HOSTILE_BACKEND, "release": "4.14", "from_release": "4.14", "platform": "gcp",
             "architecture": "amd64", "network": "ovn", "topology": "ha", "now": demo.now_param}
    cell = client.get("/cell", params=query).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cell and "<script>alert" not in cell
    assert "4.14.0-0.ci-&lt;b&gt;tag&lt;/b&gt;" in cell


# ---- the local bucket ---------------------------------------------------------------------------------------------


def test_run_folder_lists_its_files_and_serves_them_as_text(client: TestClient, demo: Demo) -> None:
    run = get(client, "/cell.json", demo, **cell_query(worst_cell(client, demo)))["runs"][0]
    listing = client.get(run["folder_url"])
    assert listing.status_code == 200 and "prowjob.json" in listing.text
    prowjob = f"/bucket/logs/{quote(run['JobName'])}/{run['JobRunName']}/prowjob.json"
    response = client.get(prowjob)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert json.loads(response.text)["spec"]["job"] == run["JobName"]


@pytest.mark.parametrize(("path", "status"), [
    pytest.param("/bucket/..%2F..%2F..%2Fetc%2Fpasswd", 400, id="encoded-dots"),
    pytest.param("/bucket/logs/..%2F..%2F..%2F..%2Fetc%2Fhostname", 400, id="below-logs"),
    pytest.param("/bucket/logs/%00", 400, id="nul"),
    pytest.param("/bucket.json/logs/%0aerror", 404, id="newline-matches-no-route"),
    pytest.param("/bucket/logs/" + quote(HOSTILE_JOB, safe=""), 404, id="hostile-name"),
])
def test_bucket_paths_never_leave_the_folder(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert "root:" not in response.text and "<script>alert" not in response.text
