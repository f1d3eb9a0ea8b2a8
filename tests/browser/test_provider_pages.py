"""The reconciliation and billing pages in chromium against a real ``llmledger serve --demo``
(whose provider reports carry the planted differences of ``llmledger.providers.demo``), at
1280 and 390 px: no console error, nothing scrolls sideways, the charts are drawn with points;
clicking a flagged row lands on the request log of that day and model; the billing page's
granularity switch redraws it per week. Screenshots are kept like the other pages'."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from llmledger.providers import demo as planted
from tests.browser.conftest import OpenTab, Tab
from tests.browser.pages import BASE, RANGE, charts_of, column, horizontal_overflow

pytestmark = pytest.mark.slow
RECONCILIATION = f"{BASE}/providers/reconciliation?{RANGE}"
BILLING = f"{BASE}/providers/billing?{RANGE}"


def clean(tab: Tab, name: str, width: int, screenshots: Path) -> None:
    page = tab.page
    tab.charts_drawn()
    charts = charts_of(page)
    assert charts and all(c["drawn"] and c["points"] > 0 for c in charts), charts
    assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways at {width} px"
    page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
    assert not tab.watch.faults, tab.watch.faults


@pytest.mark.parametrize("width", [1280, 390])
def test_a_flagged_row_opens_the_request_log_of_its_day_and_model(
    open_tab: OpenTab, screenshots: Path, width: int
) -> None:
    tab = open_tab("admin", width)
    assert tab.goto(RECONCILIATION) == 200
    clean(tab, "reconciliation", width, screenshots)
    page = tab.page
    models = column(page, "flagged", "Model")
    causes = column(page, "flagged", "Cause")
    assert planted.MISPRICED[1] in models and "price" in causes and "untracked" in causes
    # the cause is written in the row, not only coloured
    assert (
        "price"
        in page.locator("#table-flagged tbody tr", has_text=planted.MISPRICED[1]).first.inner_text()
    )
    row = page.locator("#table-flagged tbody tr", has_text=planted.MISPRICED[1]).first
    day = row.locator("td").first.get_attribute("data-value")
    row.get_by_role("link", name=planted.MISPRICED[1]).click()
    page.wait_for_url("**/admin/llm-costs/requests?**")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {
        "startDate": [day],
        "endDate": [day],
        "provider": ["anthropic"],
        "model": [planted.MISPRICED[1]],
    }
    assert set(column(page, "requests", "Model")) == {planted.MISPRICED[1]}
    times = column(page, "requests", "Time (UTC)")
    assert times and {t[:10] for t in times} == {day}
    assert horizontal_overflow(page) <= 0
    assert not tab.watch.faults, tab.watch.faults


@pytest.mark.parametrize("width", [1280, 390])
def test_the_billing_page_switches_granularity(
    open_tab: OpenTab, screenshots: Path, width: int
) -> None:
    tab = open_tab("admin", width)
    assert tab.goto(BILLING) == 200
    clean(tab, "billing", width, screenshots)
    page = tab.page
    daily = column(page, "periods", "Period")
    assert len(daily) == 30
    page.get_by_role("navigation", name="Per").get_by_role("link", name="Weekly").click()
    page.wait_for_url("**granularity=week**")
    tab.charts_drawn()
    weekly = column(page, "periods", "Period")
    assert 5 <= len(weekly) <= 6 and all("-W" in w for w in weekly)
    assert all(c["drawn"] and c["points"] > 0 for c in charts_of(page))
    assert horizontal_overflow(page) <= 0
    groq = page.locator("#table-providers tbody tr", has_text="groq")
    assert "(estimate)" in groq.inner_text()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert today in column(page, "periods", "To")
    assert not tab.watch.faults, tab.watch.faults
