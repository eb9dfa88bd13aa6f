"""In a real browser: the Regressions page links to the trend, which draws the change point; the heat map marks it."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from web.site import Demo
from web.test_browser import CHROMIUM, base_url, browser_page, shot  # noqa: F401  (module fixtures reused)

from job_run_aggregator.pipeline.demo import DEMO_PLANT_BACKEND

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install Debian's chromium package"),
]


def test_regressions_page_to_the_trend_with_its_change_point(browser_page: tuple, base_url: str,  # noqa: F811
                                                            demo: Demo) -> None:
    page, problems = browser_page
    page.goto(f"{base_url}/regressions?now={quote(demo.now_param)}")
    row = page.locator("table#regressions tr.regression", has_text="4.13 · gcp amd64 sdn ha").filter(
        has_text=DEMO_PLANT_BACKEND)
    assert row.count() == 1
    shot(page, "8-regressions")
    row.locator("a").first.click()
    page.wait_for_url("**/trend?**")
    page.locator("canvas#trend-chart[data-changes]").wait_for()
    assert page.locator("canvas#trend-chart").get_attribute("data-changes") == "1"
    assert page.locator("ul#change-points li.regression").count() == 1
    shot(page, "9-trend-change-point")

    page.goto(f"{base_url}/?release=4.13&now={quote(demo.now_param)}")
    page.locator("table#heat-map[data-regressed]").wait_for(state="attached")
    assert int(page.locator("table#heat-map").get_attribute("data-regressed")) >= 1
    assert page.locator(".legend .regressed-key").is_visible()
    marked = page.locator(f"table#heat-map td.cell.regressed[data-backend='{DEMO_PLANT_BACKEND}']")
    assert marked.count() == 1
    assert page.evaluate("el => getComputedStyle(el, '::after').content", marked.locator("a").element_handle()) \
        == '"▲"'
    assert "; got worse from " in (marked.locator("a").get_attribute("aria-label") or "")
    # the page's own navigation leads to the Regressions page, carrying the window's end only
    nav = page.locator("header nav a", has_text="Regressions")
    assert nav.get_attribute("href") == f"/regressions?now={quote(demo.now_param, safe='')}"
    shot(page, "10-overview-regressed")
    assert problems == []
