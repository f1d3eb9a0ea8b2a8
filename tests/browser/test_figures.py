"""What the pages show in chromium agrees with the JSON API on the same demo data: the overview's
headline figures, sorting and filtering, the drill-down from an organisation, the path from a
session to one request and the arithmetic of its cost, and a table's CSV download."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from playwright.sync_api import expect

from llmledger.server.web.formats import count, ms, ratio, usd
from tests.browser.conftest import API, DemoServer, OpenTab, Tab
from tests.browser.pages import BASE, PAGES, RANGE, SPAN, column, headers, ids_of, table_cells

pytestmark = pytest.mark.slow

#: the overview's cards: (card, field of /global, how the card writes it)
CARDS = [
    ("monthToDate", "monthToDateCostUsd", usd),
    ("today", "todayCostUsd", usd),
    ("cost", "costUsd", usd),
    ("requests", "totalRequests", count),
    ("latency", "avgLatencyMs", ms),
    ("success", "successRate", ratio),
    ("cacheSavings", "cacheSavingsUsd", usd),
]


def _card(tab: Tab, card: str) -> tuple[str, str]:
    kpi = tab.page.locator(f'[data-kpi="{card}"]')
    return kpi.get_attribute("data-value") or "", kpi.locator(".kpi-value").inner_text()


@pytest.mark.parametrize("span", ["30 days", "month to date", "one organisation"])
def test_the_overviews_cards_equal_global_for_the_same_range(
    open_tab: OpenTab, demo: DemoServer, span: str
) -> None:
    params: dict[str, str] = dict(SPAN)
    if span == "month to date":
        params = {}  # the default of both: the current UTC month up to now
    elif span == "one organisation":
        params["orgId"] = demo.viewer_org
    tab = open_tab()
    query = "&".join(f"{k}={v}" for k, v in params.items())
    assert tab.goto(f"{BASE}?{query}") == 200
    expected = demo.api(f"{API}/global", **params)
    assert expected["totalRequests"] > 0
    for card, field, written in CARDS:
        raw, text = _card(tab, card)
        assert float(raw) == pytest.approx(expected[field], rel=1e-12), card
        assert text == written(expected[field]), card
    # the donut and the numbers behind it are /global's byProvider, in its order
    providers = [p["provider"] for p in expected["byProvider"]]
    assert column(tab.page, "providers", "Provider") == providers
    donut = tab.page.evaluate("() => document.querySelector('#figure-providers .chart-box').data")
    assert donut[0]["labels"] == providers


def _org_names(tab: Tab) -> list[str]:
    return column(tab.page, "orgs", "Organisation")


def test_sorting_and_filtering_the_organisations_change_the_rows_as_the_api_says(
    open_tab: OpenTab, demo: DemoServer
) -> None:
    tab = open_tab()
    tab.goto(f"{BASE}/orgs?{RANGE}")
    by_cost = demo.api(f"{API}/by-org", **SPAN)["orgs"]
    assert _org_names(tab) == [o["name"] for o in by_cost]

    # a header is a sort link: by name (A to Z), then by requests (most first)
    tab.page.locator("#table-orgs thead a", has_text="Organisation").click()
    expect(tab.page).to_have_url(re.compile("sort=name"))
    by_name = demo.api(f"{API}/by-org", **SPAN, sortBy="name", sortOrder="asc")["orgs"]
    assert _org_names(tab) == [o["name"] for o in by_name] == sorted(o["name"] for o in by_cost)
    tab.page.locator("#table-orgs thead a", has_text="Requests").click()
    expect(tab.page).to_have_url(re.compile("sort=requests"))
    by_requests = demo.api(f"{API}/by-org", **SPAN, sortBy="requests")["orgs"]
    assert _org_names(tab) == [o["name"] for o in by_requests]
    assert column(tab.page, "orgs", "Requests") == [str(o["requests"]) for o in by_requests]

    # a minimum spend between the costliest few and the rest keeps the costliest few
    floor = Decimal(str(by_cost[2]["costUsd"])).quantize(Decimal("0.01"))
    tab.page.fill("input[name=minCostUsd]", str(floor))
    tab.page.locator("form.filters button[type=submit]").click()
    expect(tab.page).to_have_url(re.compile("minCostUsd="))
    cents = int(floor * 100)
    kept = demo.api(f"{API}/by-org", **SPAN, sortBy="requests", minCostCents=cents)["orgs"]
    assert 0 < len(kept) < len(by_cost)
    assert _org_names(tab) == [o["name"] for o in kept]
    assert all(Decimal(v) >= floor for v in column(tab.page, "orgs", "Cost"))


def _event_ids(tab: Tab, table: str) -> list[str]:
    hrefs = tab.page.locator(f"#table-{table} tbody tr td:first-child a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return [unquote(urlsplit(h).path.rsplit("/", 1)[1]) for h in hrefs]


def test_filtering_the_request_log_keeps_what_the_api_keeps(
    open_tab: OpenTab, demo: DemoServer
) -> None:
    tab = open_tab()
    tab.goto(f"{BASE}/requests?{RANGE}")
    everything = demo.api(f"{API}/requests", **SPAN)["requests"]
    assert _event_ids(tab, "requests")[:20] == [r["eventId"] for r in everything][:20]
    provider = everything[-1]["provider"]
    tab.page.fill("form.filters input[name=provider]", provider)
    tab.page.select_option("form.filters select[name=success]", "true")
    tab.page.locator("form.filters button[type=submit]").click()
    expect(tab.page).to_have_url(re.compile("provider="))
    query = parse_qs(urlsplit(tab.page.url).query)
    assert query["provider"] == [provider] and query["success"] == ["true"]
    kept = demo.api(f"{API}/requests", **SPAN, provider=provider, success="true")["requests"]
    shown = _event_ids(tab, "requests")
    assert shown and shown == [r["eventId"] for r in kept][: len(shown)]
    assert set(column(tab.page, "requests", "Provider")) == {provider}
    assert set(column(tab.page, "requests", "Outcome")) == {"true"}


def test_an_organisation_drills_down_to_its_page(open_tab: OpenTab, demo: DemoServer) -> None:
    tab = open_tab()
    tab.goto(f"{BASE}/orgs?{RANGE}")
    first = tab.page.locator("#table-orgs tbody tr").first.locator("a").first
    org = first.inner_text()
    first.click()
    expect(tab.page.locator("main h1")).to_have_text(org)
    assert urlsplit(tab.page.url).path == f"{BASE}/orgs/{org}"
    one = demo.api(f"{API}/by-org/{org}", **SPAN, recent=20)
    raw, _ = _card(tab, "cost")
    assert float(raw) == pytest.approx(one["totals"]["costUsd"], rel=1e-12)
    assert _card(tab, "requests")[0] == str(one["totals"]["totalRequests"])
    assert column(tab.page, "models", "Model") == [m["model"] for m in one["models"]]
    recent = _event_ids(tab, "recent")
    assert recent == [r["eventId"] for r in one["recentRequests"]] and recent


def test_a_session_leads_to_a_request_and_the_arithmetic_of_its_cost(
    open_tab: OpenTab, demo: DemoServer
) -> None:
    ids = ids_of(demo)
    tab = open_tab()
    tab.goto(f"{BASE}/sessions?{RANGE}&orgId={ids.org}")
    tab.page.locator(f'#table-sessions a:text-is("{ids.session}")').click()
    expect(tab.page.locator("main h1")).to_contain_text(ids.session)
    in_order = demo.api(f"{API}/sessions/{ids.session}", orgId=ids.org)["requests"]
    assert _event_ids(tab, "requests") == [r["eventId"] for r in in_order]

    row = tab.page.locator("#table-requests tbody tr").filter(
        has=tab.page.locator(f'a[href*="{ids.event}"]')
    )
    row.locator("a").first.click()
    expect(tab.page.locator("#explained-total")).to_be_visible()
    assert urlsplit(tab.page.url).path == f"{BASE}/requests/{ids.event}"
    request = demo.api(f"{API}/requests/{ids.event}")
    stored = Decimal(str(request["request"]["costUsd"]))
    total = Decimal(tab.page.locator("#explained-total").get_attribute("data-value") or "")
    assert total == stored > 0
    lines = tab.page.locator("#table-explanation tbody td[data-value]").evaluate_all(
        "cells => cells.map(c => c.dataset.value)"
    )
    assert sum(Decimal(v) for v in lines).quantize(Decimal("1e-9")) == stored


@pytest.mark.parametrize("page", ["models", "requests", "sessions", "users", "orgs"])
def test_a_csv_download_is_the_table_it_came_from(open_tab: OpenTab, page: str) -> None:
    tab = open_tab()
    tab.goto(PAGES[page])
    table = tab.page.locator("table[data-table] caption a.csv").first
    table_id = table.evaluate("a => a.closest('table').dataset.table")
    with tab.page.expect_download() as download:
        table.click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert rows[0] == headers(tab.page, table_id)
    assert rows[1:] == table_cells(tab.page, table_id) and len(rows) > 2
