"""Every page's twins: `.json`, `.csv` of each table, `/overview`, `/bucket.json`, the favicon, and permalinks."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient
from web.site import HOSTILE_BACKEND, Demo


def test_overview_answers_at_both_addresses(client: TestClient, demo: Demo) -> None:
    params = {"now": demo.now_param}
    root, overview = client.get("/", params=params), client.get("/overview", params=params)
    assert root.status_code == overview.status_code == 200
    assert 'id="heat-map"' in root.text and 'id="heat-map"' in overview.text
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize(("path", "table"), [
    pytest.param("/overview.csv", "cells", id="overview"),
    pytest.param("/overview.csv", "variants", id="overview-variants"),
    pytest.param("/match.csv", "matches", id="match"),
])
def test_each_table_downloads_as_csv_with_the_json_rows(client: TestClient, demo: Demo, path: str,
                                                        table: str) -> None:
    params = {"now": demo.now_param, "job": "periodic-ci-openshift-release-master-ci-4.14-e2e-aws-ovn",
              "table": table}
    data = client.get(path.replace(".csv", ".json"), params=params).json()
    response = client.get(path, params=params)
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{path[1:-4]}-{table}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(data[table]) > 0


def test_csv_of_names_from_data_cannot_run_as_formulas(client: TestClient, demo: Demo) -> None:
    response = client.get("/overview.csv", params={"now": demo.now_param, "table": "cells"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    names = {r["BackendName"] for r in rows}
    assert HOSTILE_BACKEND in names  # "<img …" is text in a CSV; only = + - @ starts are defused
    assert all(not n.startswith(("=", "+", "-", "@")) for n in names)


def test_an_unknown_table_is_400(client: TestClient, demo: Demo) -> None:
    response = client.get("/overview.csv", params={"now": demo.now_param, "table": "nope"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("table='nope': choose one of variants, cells")


def test_the_permalink_fixes_the_window(client: TestClient, demo: Demo) -> None:
    data = client.get("/overview.json", params={"release": "4.14", "days": "14"}).json()
    link = data["permalink"]
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == "/overview" and query["release"] == ["4.14"] and query["days"] == ["14"]
    assert query["now"] == [data["window"]["end"].replace("+00:00", "Z")]
    again = client.get(link.replace("/overview", "/overview.json")).json()
    def numbers(cells: list[dict]) -> list[dict]:
        return [{k: v for k, v in c.items() if k != "href"} for c in cells]

    assert again["window"] == data["window"] and numbers(again["cells"]) == numbers(data["cells"])


def test_a_compare_of_given_files_is_addressable_an_upload_is_not(client: TestClient, demo: Demo) -> None:
    by_name = client.get("/compare.json", params={"current": demo.backend_file.name, "now": demo.now_param}).json()
    assert by_name["state"] == "ok" and by_name["permalink"].startswith("/compare?current=")
    uploaded = client.post("/compare", files={"current": ("q.json", demo.backend_file.read_bytes())})
    assert uploaded.status_code == 200
    assert 'id="save-json"' in uploaded.text and 'class="json"' not in uploaded.text
    assert "Permalink" not in uploaded.text


def test_missing_keys_show_no_new_values(client: TestClient, demo: Demo) -> None:
    rows = json.loads(demo.backend_file.read_bytes())
    response = client.post("/compare.json", files={"current": ("current.json", demo.backend_file.read_bytes()),
                                                   "new": ("new.json", json.dumps(rows[2:]).encode())})
    data = response.json()
    assert len(data["missing"]) == 2
    for row in data["missing"]:
        assert row["new_P95"] is None and row["new_P99"] is None and row["JobRuns"] is None
        assert row["current_P99"] is not None and row["current_JobRuns"] > 0


def test_bucket_folders_list_and_paginate(client: TestClient) -> None:
    assert client.get("/bucket").status_code == client.get("/bucket.json").status_code == 200
    root = client.get("/bucket.json/").json()
    assert root["files"] == [{"name": "logs/", "href": "/bucket/logs/"}] and root["up"] is None
    jobs = client.get("/bucket.json/logs").json()
    assert jobs["files"] and all(f["name"].endswith("/") for f in jobs["files"])
    first = jobs["files"][0]["name"].rstrip("/")
    runs = client.get(f"/bucket.json/logs/{first}").json()
    assert runs["up"] == "/bucket/logs/" and runs["files"]
    page = client.get("/bucket/logs")
    assert page.status_code == 200 and "On disk" not in page.text and "/tmp" not in page.text


def test_a_runs_disruption_messages_link_back_to_the_cell(client: TestClient, demo: Demo) -> None:
    worst = client.get("/overview.json", params={"now": demo.now_param, "release": "4.14"}).json()["worst"][0]
    cell = client.get(worst["href"].replace("/cell?", "/cell.json?")).json()
    run = cell["runs"][0]
    data = client.get(run["messages_url"].replace("/run?", "/run.json?")).json()
    assert data["state"] == "ok" and data["backend"] == worst["BackendName"]
    assert data["back"].startswith("/cell?backend=") and data["links"]["folder"].startswith("/bucket/logs/")
    found = [f for f in data["files"] if f["found"]]
    assert found and all(f["file"].endswith(".json") and "backend-disruption" in f["file"] for f in found)
    assert len(data["messages"]) == sum(f["messages"] for f in found)
    assert run["Seconds"] == 0 or data["messages"]  # a disrupted run's monitor said why


@pytest.mark.parametrize(("params", "status", "message"), [
    pytest.param({"job": "../../etc", "run": "1", "backend": "b"}, 400, "job='../../etc' is not a job or run name",
                 id="job-with-slash"),
    pytest.param({"job": "j", "run": "..", "backend": "b"}, 400, "run='..' is not a job or run name", id="dot-dot"),
    pytest.param({"job": "j"}, 400, "give job, run and backend", id="incomplete"),
    pytest.param({"job": "no-such-job", "run": "1", "backend": "b"}, 200, "No backend-disruption file of this run",
                 id="no-such-run"),
])
def test_run_page_bad_input(client: TestClient, params: dict, status: int, message: str) -> None:
    response = client.get("/run.json", params=params)
    assert response.status_code == status and response.json()["message"].startswith(message)


def test_back_links_stay_on_the_site(client: TestClient) -> None:
    for back in ("https://evil.example/", "//evil.example/", "javascript:alert(1)", "/cell?x\n"):
        data = client.get("/run.json", params={"job": "j", "run": "1", "backend": "b", "back": back}).json()
        assert data["back"] is None, back


def test_what_got_worse_against_the_exported_file(client: TestClient, demo: Demo) -> None:
    params = {"now": demo.now_param, "against": demo.backend_file.name}
    data = client.get("/overview.json", params=params).json()
    assert data["baseline"] == demo.backend_file.name
    # The file is the export of this very window: nothing moved; cells it lacks (under its threshold) are new.
    assert data["worse"] == [] and all(c["change"] in ("", "new") for c in data["cells"])
    assert {c["change"] for c in data["cells"] if not c["greyed"]} == {""}
    assert all(c["P99_delta"] == pytest.approx(0.0) for c in data["cells"] if c["change"] == "")
    response = client.get("/overview.json", params={**params, "against": "/etc/passwd"})
    assert response.status_code == 400 and response.json()["message"].startswith(
        "against='/etc/passwd' is not one of the files given to serve --historical-data")
