"""Every dashboard page in chromium, at desktop width (1280 px) and phone width (390 px), on the
demo data of a real ``llmledger serve --demo``: it answers 200 with no console error, no failed
request and no request to another host; every chart is drawn and holds data points; nothing
scrolls sideways. The main pages' screenshots are saved (see ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import DemoServer, OpenTab
from tests.browser.pages import PAGES, SHOWN, Ids, charts_of, horizontal_overflow, ids_of, path_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ids(demo: DemoServer) -> Ids:
    return ids_of(demo)


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_loads_clean_draws_its_charts_and_fits(
    open_tab: OpenTab, ids: Ids, screenshots: Path, name: str, width: int
) -> None:
    tab = open_tab("admin", width)
    assert tab.goto(path_of(name, ids)) == 200
    tab.charts_drawn()
    charts = charts_of(tab.page)
    assert all(c["drawn"] for c in charts), charts
    assert all(c["points"] > 0 for c in charts), charts
    if name in ("overview", "org", "models", "agents", "forecast", "usage-pattern", "what-if"):
        assert charts, f"{name} draws no chart"
    assert horizontal_overflow(tab.page) <= 0, f"{name} scrolls sideways at {width} px"
    if name in SHOWN:
        tab.page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
    assert not tab.watch.faults, tab.watch.faults


def test_the_browsers_own_icon_is_served(demo: DemoServer, open_tab: OpenTab) -> None:
    # the page links its hashed icon; a browser asks for /favicon.ico on its own elsewhere
    tab = open_tab("admin")
    assert tab.goto("/favicon.ico") == 200
    r = httpx.get(demo.url + "/favicon.ico", timeout=60)
    assert r.headers["content-type"] == "image/x-icon" and r.content[:4] == b"\x00\x00\x01\x00"
    tab.goto(PAGES["overview"])
    href = tab.page.locator("link[rel=icon]").get_attribute("href") or ""
    assert httpx.get(demo.url + href, timeout=60).status_code == 200


def test_the_root_sends_a_stranger_to_the_login_page(open_tab: OpenTab, demo: DemoServer) -> None:
    r = httpx.get(demo.url + "/", timeout=60, follow_redirects=True)
    assert r.url.path == "/login" and r.status_code == 200
    tab = open_tab("admin")
    tab.goto("/")
    assert tab.page.url.startswith(demo.url + "/admin/llm-costs")
