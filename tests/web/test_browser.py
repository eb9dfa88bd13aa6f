"""A real browser (Debian's headless Chromium through Playwright) against a real uvicorn server on the demo data.

Proves the three-click path (overview → worst cell → its worst run), that every chart draws its data with the
page's own scripts only (no CDN, no console or CSP errors), and that names from data render as text.
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import uvicorn
from paths import REPO
from servers import free_port
from starlette.applications import Starlette
from web.site import HOSTILE_BACKEND, HOSTILE_JOB, Demo

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install Debian's chromium package"),
]


@pytest.fixture(scope="module")
def base_url(make_app: Callable[..., Starlette]) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser_page(base_url: str) -> Iterator[tuple[object, list[str]]]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(15_000)
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
        # Offline proof: any request leaving the server under test fails the test.
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url)
                   else (problems.append(f"external request: {route.request.url}"), route.abort()))
        yield page, problems
        browser.close()


def shot(page: object, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_three_clicks_from_overview_to_the_worst_run(browser_page: tuple, base_url: str, demo: Demo) -> None:
    page, problems = browser_page
    page.goto(f"{base_url}/?now={quote(demo.now_param)}")
    cells = page.locator("table#heat-map td.cell")
    assert cells.count() > 100
    p99s = [float(v) for v in cells.evaluate_all("tds => tds.filter(td => !td.classList.contains('few'))"
                                                 ".map(td => td.dataset.p99)")]
    shot(page, "1-overview")
    # Click 1 of 3: the worst coloured cell, which the ordering puts top-left.
    worst = page.locator("table#heat-map tbody tr").first.locator("td.cell").first
    assert float(worst.get_attribute("data-p99")) == max(p99s)
    backend = worst.get_attribute("data-backend")
    runs = int(worst.get_attribute("data-runs"))
    worst.locator("a").click()
    page.wait_for_url("**/cell?**")
    strip = page.locator("canvas#strip-chart[data-points]")
    assert int(strip.get_attribute("data-points")) == runs
    assert page.evaluate("() => Chart.getChart(document.getElementById('strip-chart')).data.datasets[0].data.length") \
        == int(strip.get_attribute("data-points"))
    assert page.locator("svg#box-plot rect.iqr").count() == 1
    assert page.locator("h1").inner_text().startswith(backend)
    seconds = [int(t) for t in page.locator("table#worst-runs tbody td:nth-child(2)").all_inner_texts()]
    assert seconds and seconds == sorted(seconds, reverse=True)
    shot(page, "2-cell")
    # Click 2 of 3: the worst run's folder.
    page.locator("table#worst-runs a.run").first.click()
    page.wait_for_url("**/bucket/logs/**")
    assert page.locator("ul.files a", has_text="prowjob.json").count() == 1
    shot(page, "3-run-folder")
    assert problems == []


def test_trend_compare_and_match_pages_draw(browser_page: tuple, base_url: str, demo: Demo, tmp_path: Path) -> None:
    page, problems = browser_page
    page.goto(f"{base_url}/?now={quote(demo.now_param)}")
    page.locator("table#heat-map tbody th.backend a").first.click()
    page.wait_for_url("**/trend?**")
    trend = page.locator("canvas#trend-chart[data-points]")
    assert int(trend.get_attribute("data-points")) > 10
    # P99, P95, P50 (rolling), runs per day, and the exported P99 and P95 lines.
    assert page.evaluate("() => Chart.getChart(document.getElementById('trend-chart')).data.datasets.length") == 6
    shot(page, "4-trend")

    rows = json.loads(demo.backend_file.read_bytes())
    disrupted = [r for r in rows if float(r["P99"]) > 1]
    for row, factor in zip(disrupted, (3.0, 1.6, 0.5, 0.2)):  # two increases over the leeway, two decreases
        row["P99"] = str(float(row["P99"]) * factor)
    changed = tmp_path / "changed_query_results.json"
    changed.write_text(json.dumps(rows))
    # Files on the server are offered by name only; these two are uploaded through the form.
    page.goto(f"{base_url}/compare")
    upload = page.locator("form[enctype='multipart/form-data']")
    upload.locator("input[name=current]").set_input_files(str(demo.backend_file))
    upload.locator("input[name=new]").set_input_files(str(changed))
    upload.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    bars = page.locator("canvas#compare-chart[data-points]")
    assert int(bars.get_attribute("data-points")) == 4
    assert "review needed" in page.locator("p.verdict").inner_text()
    shot(page, "5-compare")

    job = "periodic-ci-openshift-release-master-ci-4.15-e2e-aws-upgrade-ovn-single-node"
    page.goto(f"{base_url}/match?" + urlencode({"job": job, "min_runs": "100"}))
    assert page.locator("table#matches tbody tr").count() > 10
    assert page.locator("table#matches tr.fallback").count() > 0
    page.locator("table#matches tr.fallback summary").first.click()
    shot(page, "6-match")
    assert problems == []


def test_names_from_data_render_as_text(browser_page: tuple, base_url: str, demo: Demo) -> None:
    page, problems = browser_page
    page.goto(f"{base_url}/?now={quote(demo.now_param)}")
    header = page.locator("table#heat-map th.backend", has_text="onerror")
    assert header.inner_text() == HOSTILE_BACKEND
    header.scroll_into_view_if_needed()
    hostile = page.locator(f"td.cell.few[data-backend='{HOSTILE_BACKEND}']")
    hostile.locator("a").click()
    page.wait_for_url("**/cell?**")
    assert page.locator("table#worst-runs td.job").first.inner_text() == HOSTILE_JOB
    assert page.locator("h1").inner_text().startswith(HOSTILE_BACKEND)
    assert page.locator("main script, main img").count() == 0
    shot(page, "7-hostile-names")
    assert problems == []
