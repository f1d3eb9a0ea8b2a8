"""Every page of the dashboard, by name, and how to read what chromium drew."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from playwright.sync_api import Page

from tests.browser.conftest import API, DemoServer

BASE = "/admin/llm-costs"
#: the last thirty UTC days, today included: every page has rows and charts whatever the day of
#: the month. Whole days, so a page and the API asked a moment apart give the same answer.
TODAY = dt.datetime.now(dt.UTC).date()
SPAN = {"startDate": (TODAY - dt.timedelta(days=29)).isoformat(), "endDate": TODAY.isoformat()}
RANGE = urlencode(SPAN)

#: name -> path (``{org}``, ``{session}``, ``{event}`` filled from the API)
PAGES = {
    "overview": f"{BASE}?{RANGE}",
    "orgs": f"{BASE}/orgs?{RANGE}",
    "org": f"{BASE}/orgs/{{org}}?{RANGE}",
    "agents": f"{BASE}/agents?{RANGE}",
    "models": f"{BASE}/models?{RANGE}",
    "users": f"{BASE}/users?{RANGE}",
    "operations": f"{BASE}/operations?{RANGE}",
    "sessions": f"{BASE}/sessions?{RANGE}",
    "session": f"{BASE}/sessions/{{session}}?{RANGE}",
    "requests": f"{BASE}/requests?{RANGE}",
    "request": f"{BASE}/requests/{{event}}",
    "usage-pattern": f"{BASE}/usage-pattern?{RANGE}",
    "forecast": f"{BASE}/forecast",
    "what-if": f"{BASE}/what-if?{RANGE}&asModel=gpt-4o-mini",
    "pricing": f"{BASE}/pricing?{RANGE}",
    "reconciliation": f"{BASE}/providers/reconciliation?{RANGE}",
    "billing": f"{BASE}/providers/billing?{RANGE}",
    "access": f"{BASE}/access",
    "access-users": f"{BASE}/access/users",
    "access-tokens": f"{BASE}/access/tokens",
    "access-keys": f"{BASE}/access/keys",
    "access-audit": f"{BASE}/access/audit",
}
#: the pages whose screenshots are kept in docs/screenshots/
SHOWN = ("overview", "org", "session", "request", "models", "requests", "forecast", "pricing")
#: pages for admins only (a viewer gets 403)
ADMIN_ONLY = ("orgs", "reconciliation", "billing")


@dataclass(frozen=True)
class Ids:
    org: str
    session: str
    event: str


def ids_of(server: DemoServer, org: str | None = None) -> Ids:
    """The busiest organisation (or ``org``), its costliest session, and that session's first
    request priced from the catalog (so its cost has an explanation)."""
    if org is None:
        org = server.api(f"{API}/by-org", **SPAN, sortBy="requests")["orgs"][0]["orgId"]
    sessions = server.api(f"{API}/sessions", **SPAN, orgId=org)["sessions"]
    session = sessions[0]["sessionId"]
    rows = server.api(f"{API}/sessions/{quote(session, safe='')}", orgId=org)["requests"]
    event = next(r["eventId"] for r in rows if r["costSource"] == "catalog")
    return Ids(org, session, event)


def path_of(name: str, ids: Ids) -> str:
    return PAGES[name].format(
        org=quote(ids.org, safe=""), session=quote(ids.session, safe=""), event=ids.event
    )


CHARTS_JS = """() => Array.from(document.querySelectorAll('.chart-box[data-figure]')).map(b => ({
  id: b.dataset.figure,
  drawn: b.querySelectorAll('.main-svg').length,
  points: (b.calcdata || []).reduce((n, trace) => n + trace.filter(
    p => p && [p.x, p.y, p.z, p.v, p.s].some(v => v !== undefined && v !== null)).length, 0),
}))"""


def charts_of(page: Page) -> list[dict[str, Any]]:
    """Each chart's id, whether Plotly drew it, and how many data points it holds."""
    charts: list[dict[str, Any]] = page.evaluate(CHARTS_JS)
    return charts


def horizontal_overflow(page: Page) -> int:
    """How far the page scrolls sideways (0: it does not)."""
    width: int = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    return width


def table_cells(page: Page, table: str) -> list[list[str]]:
    """A table's rows as each cell's raw value (``data-value``)."""
    rows: list[list[str]] = page.evaluate(
        """id => Array.from(document.querySelectorAll(`#table-${id} tbody tr`))
             .map(tr => Array.from(tr.querySelectorAll('td[data-value]'))
             .map(td => td.dataset.value)).filter(r => r.length)""",
        table,
    )
    return rows


def column(page: Page, table: str, label: str) -> list[str]:
    """One column's raw values, found by its header's label."""
    i = headers(page, table).index(label)
    return [r[i] for r in table_cells(page, table)]


def headers(page: Page, table: str) -> list[str]:
    """A table's column labels (without the sort arrows), shown or folded away."""
    texts: list[str] = page.locator(f"#table-{table} thead th").evaluate_all(
        "ths => ths.map(th => th.textContent)"
    )
    return [t.replace("↓", "").replace("↑", "").strip() for t in texts]
