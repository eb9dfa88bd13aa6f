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
    root = client.get("/bucket.json/").json()
    assert root["files"] == [{"name": "logs/", "href": "/bucket/logs/"}] and root["up"] is None
    jobs = client.get("/bucket.json/logs").json()
    assert jobs["files"] and all(f["name"].endswith("/") for f in jobs["files"])
    first = jobs["files"][0]["name"].rstrip("/")
    runs = client.get(f"/bucket.json/logs/{first}").json()
    assert runs["up"] == "/bucket/logs/" and runs["files"]
    page = client.get("/bucket/logs")
    assert page.status_code == 200 and "On disk" not in page.text and "/tmp" not in page.text
