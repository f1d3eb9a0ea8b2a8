"""The demo viewer (of one organisation) in chromium: every page it can reach holds no other
organisation's name — not in a table, a chart, a selector or the page's JSON — and another
organisation's pages are refused."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote, urlsplit

import pytest

from tests.browser.conftest import API, DemoServer, OpenTab
from tests.browser.pages import BASE, PAGES, RANGE, ids_of, path_of

pytestmark = pytest.mark.slow


def _other_orgs(demo: DemoServer) -> list[str]:
    since = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=120)).isoformat()
    orgs = demo.api(f"{API}/by-org", startDate=since, limit=1000)["orgs"]
    others = {o["orgId"] for o in orgs} | {o["name"] for o in orgs}
    others.discard(demo.viewer_org)
    assert len(others) >= 2
    return sorted(others)


def test_a_viewer_sees_no_other_organisation_anywhere(open_tab: OpenTab, demo: DemoServer) -> None:
    others = _other_orgs(demo)
    named = re.compile(r"\b(" + "|".join(map(re.escape, others)) + r")\b")
    ids = ids_of(demo, demo.viewer_org)
    tab = open_tab("viewer")
    tab.goto(f"{BASE}?{RANGE}")
    assert tab.page.locator("select[name=orgId]").count() == 0  # no scope selector
    nav = tab.page.locator("header nav a").evaluate_all("as => as.map(a => a.href)")
    assert not [h for h in nav if urlsplit(h).path == f"{BASE}/orgs"]
    pages = {urlsplit(h).path for h in nav} | {
        urlsplit(path_of(n, ids)).path for n in ("org", "session", "request")
    }
    assert f"{BASE}/orgs/{demo.viewer_org}" in pages and len(pages) > 10
    for path in sorted(pages):
        status = tab.goto(f"{path}?{RANGE}" if "/requests/" not in path else path)
        assert status == 200, path
        tab.charts_drawn()
        shown = named.findall(tab.page.content())
        assert not shown, f"{path} names {sorted(set(shown))}"
    assert not tab.watch.faults, tab.watch.faults


def test_a_viewer_cannot_open_another_organisations_pages(
    open_tab: OpenTab, demo: DemoServer
) -> None:
    other = _other_orgs(demo)[0]
    theirs = ids_of(demo, other)
    tab = open_tab("viewer")
    tab.watch.allow(403)
    tab.watch.allow(404)
    refused = [
        f"{BASE}/orgs?{RANGE}",
        path_of("org", theirs),
        f"{BASE}?{RANGE}&orgId={quote(other)}",
        f"{BASE}/requests?{RANGE}&orgId={quote(other)}",
        f"{BASE}/sessions/{quote(theirs.session, safe='')}?orgId={quote(other)}",
    ]
    for path in refused:
        assert tab.goto(path) == 403, path
        assert other not in tab.page.inner_text("body"), path
    # their session and their request, asked for without naming the organisation: not found
    # as far as the viewer can tell (nothing of them is shown)
    for path in (f"{BASE}/sessions/{quote(theirs.session, safe='')}", PAGES["request"]):
        status = tab.goto(path.format(event=theirs.event))
        assert status in (403, 404), path
        assert other not in tab.page.content(), path
