"""The backtest page and its JSON twin on the demo warehouse (issue 22)."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient
from web.site import Demo


def test_backtest_json_twin_and_page_agree(client: TestClient, demo: Demo) -> None:
    start = (demo.now - timedelta(days=7)).date().isoformat()
    end = demo.now.date().isoformat()
    query = f"?from={start}&to={end}&step=7d&window=14d&plant=30:0.1"
    twin = client.get("/backtest.json" + query)
    assert twin.status_code == 200, twin.text
    data = twin.json()
    assert data["state"] == "ok"
    assert [r["Name"] for r in data["RuleSets"]] == ["2022", "2023", "current", "calibrated:0.01"]
    current = next(r for r in data["RuleSets"] if r["Name"] == "current")
    assert current["Judged"] > 0 and current["Planted"] > 0 and len(current["DetectionRateCI"]) == 2
    assert current["ByVariant"] and current["ByName"]
    page = client.get("/backtest" + query)
    assert page.status_code == 200
    assert 'href="/backtest.json?' in page.text
    for r in data["RuleSets"]:
        assert f"<td>{r['Name']}</td><td>{r['Runs']}</td><td>{r['Judged']}</td>" in page.text


def test_bad_parameters_are_a_400_with_the_reason(client: TestClient) -> None:
    for query, message in [
        ("?rules=2021", "--rules '2021': unknown rule set"),
        ("?from=yesterday", "from='yesterday': give a date or time"),
        ("?plant=30", "--plant '30': give SECONDS:SHARE"),
        ("?from=2020-01-01&to=2026-01-01&step=1d", "steps: at most 60 per page"),
    ]:
        response = client.get("/backtest.json" + query)
        assert response.status_code == 400, query
        assert message in response.json()["message"], response.json()


def test_match_explainer_offers_the_calibrated_preset(client: TestClient, demo: Demo) -> None:
    job = "periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade"
    current = client.get(f"/match.json?job={job}&rules=current").json()
    calibrated = client.get(f"/match.json?job={job}&rules=calibrated:0.01").json()
    assert calibrated["state"] == current["state"] == "ok"
    assert "calibrated:0.01" in calibrated["rules_choices"]
    # the same walk as current's: the calibrated preset differs only in the allowance check-run applies
    assert [m["matched_key"] for m in calibrated["matches"]] == [m["matched_key"] for m in current["matches"]]
    bad = client.get(f"/match.json?job={job}&rules=calibrated:7")
    assert bad.status_code == 400


def test_without_to_the_period_ends_at_the_window_end_so_the_permalink_holds(client: TestClient, demo: Demo) -> None:
    """The page is a Page in PAGES: `to` defaults to the window's end (`now`), which the permalink fixes."""
    data = client.get("/backtest.json", params={"step": "7d", "now": demo.now_param, "rules": "current"}).json()
    assert data["state"] in ("ok", "no-data"), data
    assert data["To"][:19] == demo.now.isoformat()[:19]
    assert "now=" in data["permalink"]
    again = client.get(data["permalink"].replace("/backtest?", "/backtest.json?")).json()
    assert again["To"] == data["To"] and again["RuleSets"] == data["RuleSets"]


def test_the_backtest_is_kept_per_copy_but_not_recomputed_in_the_background() -> None:
    from job_run_aggregator.web.app import PAGES

    pages = {p.name: p for p in PAGES}
    assert pages["backtest"].cacheable and not pages["backtest"].warmed
    assert pages["regressions"].cacheable and pages["regressions"].warmed
