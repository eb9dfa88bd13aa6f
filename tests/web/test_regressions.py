"""The Regressions page and its hooks, in process on the demo warehouse (which holds the demo's planted step)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient
from web.site import Demo

from job_run_aggregator.pipeline.demo import DEMO_PLANT_BACKEND, DEMO_PLANT_JOB

PLANTED_KEY = f"{DEMO_PLANT_BACKEND}|4.13||gcp|amd64|sdn|ha"


def get(client: TestClient, path: str, demo: Demo, **params: str) -> dict:
    response = client.get(path, params={"now": demo.now_param, **params})
    assert response.headers["content-type"].startswith("application/json"), response.text
    return {"status": response.status_code, **response.json()}


def planted(data: dict) -> dict:
    (item,) = [i for i in data["items"] if i["Name"] == DEMO_PLANT_BACKEND and i["Release"] == "4.13"
               and i["Platform"] == "gcp"]
    return item


def test_the_page_lists_the_planted_regression_linked_to_its_trend(client: TestClient, demo: Demo) -> None:
    data = get(client, "/regressions.json", demo)
    assert data["status"] == 200 and data["state"] == "ok" and data["window"]["days"] == 42
    assert data["series"] > 100 and data["filters"]["min_runs"] == 20
    item = planted(data)
    assert item["Direction"] == "regression" and item["FirstRun"]["JobName"] == DEMO_PLANT_JOB
    assert item["After"]["P50"] - item["Before"]["P50"] >= 29
    link = urlsplit(item["trend_url"])
    query = dict(parse_qsl(link.query, keep_blank_values=True))
    assert link.path == "/trend" and query["backend"] == DEMO_PLANT_BACKEND and query["release"] == "4.13"
    assert query["from_release"] == "" and query["days"] == "42" and query["now"] == demo.now_param
    trend = client.get("/trend.json", params=query).json()
    assert trend["state"] == "ok"
    (change,) = trend["changes"]
    assert change["ChangeTime"] == item["ChangeTime"] and change["FirstRun"] == item["FirstRun"]
    assert change["day"] == item["ChangeTime"][:10] and change["day"] in [d["day"] for d in trend["days"]]


def test_the_html_page_shows_the_same_items(client: TestClient, demo: Demo) -> None:
    data = get(client, "/regressions.json", demo)
    page = client.get("/regressions", params={"now": demo.now_param})
    assert page.status_code == 200 and 'id="regressions"' in page.text
    assert page.text.count('<tr class="regression">') == len(data["items"])
    assert planted(data)["trend_url"].replace("&", "&amp;") in page.text
    assert 'href="/regressions.json?now=' in page.text  # the twin


def test_the_heat_map_gets_its_marks_from_the_regressions_twin(client: TestClient, demo: Demo) -> None:
    """The overview loads the marker script; the twin it fetches names the planted cell by its data-variant."""
    overview = get(client, "/overview.json", demo, release="4.13")
    html = client.get("/", params={"now": demo.now_param, "release": "4.13"}).text
    assert '<script src="/static/regressions.js" defer></script>' in html
    found = get(client, "/regressions.json", demo, release="4.13", days=str(overview["window"]["days"]),
                now=overview["window"]["end"])
    marks = {f"{i['Name']}|{i['variant_key']}" for i in found["items"] if i["Direction"] == "regression"}
    assert PLANTED_KEY in marks
    cells = {f"{c['BackendName']}|{c['variant']}" for c in overview["cells"]}
    assert marks <= cells  # every mark lands on a heat-map cell
    assert f'data-backend="{DEMO_PLANT_BACKEND}" data-variant="4.13||gcp|amd64|sdn|ha"' in html


def test_improvements_and_alerts_and_an_empty_window(client: TestClient, demo: Demo) -> None:
    both = get(client, "/regressions.json", demo, improvements="1")
    assert {i["Direction"] for i in both["items"]} <= {"regression", "improvement"}
    assert len(both["items"]) >= len(get(client, "/regressions.json", demo)["items"])
    alerts = get(client, "/regressions.json", demo, data_type="alerts")
    assert alerts["status"] == 200 and all(i["trend_url"] is None for i in alerts["items"])
    empty = get(client, "/regressions.json", demo, release="4.2")
    assert empty["status"] == 200 and empty["state"] == "no-data" and "No disruptions series" in empty["message"]


@pytest.mark.parametrize(("params", "message"), [
    ({"data_type": "tests"}, "data_type='tests': choose disruptions or alerts"),
    ({"days": "0"}, "days=0 is out of range (1 to 400)"),
    ({"min_runs": "1e9"}, "min_runs='1e9' is not a whole number"),
    ({"min_runs": "1"}, "min_runs='1': give a whole number from 2 to 1000000000"),
    ({"now": "yesterday"}, "now='yesterday' is not an ISO date-time"),
])
def test_bad_parameters_are_400_with_the_reason(client: TestClient, demo: Demo, params: dict, message: str) -> None:
    data = client.get("/regressions.json", params=params)
    assert data.status_code == 400 and message in data.json()["message"]
    assert client.get("/regressions", params=params).status_code == 400
