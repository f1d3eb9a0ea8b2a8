"""Organisations (``/by-org``, admins only) and one organisation (``/by-org/{orgId}``): its
figures, model breakdown, cost trend and most recent requests."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from llmledger.analytics.orgs import by_org, org_detail
from llmledger.server.analytics.pages.common import (
    answerable,
    ledger_of,
    org_href,
    page_router,
    q,
    read,
    request_href,
    session_href,
)
from llmledger.server.web import charts
from llmledger.server.web.errors import PageError
from llmledger.server.web.formats import usd
from llmledger.server.web.render import BASE, page
from llmledger.server.web.tables import Column, Table
from llmledger.server.web.view import View
from llmledger.server.web.viewer import ViewerDep

router = page_router()
PAGE_SIZE = 100
#: the page's sort keys, as /by-org's sortBy names them
SORTS = {"costUsd": "cost", "requests": "requests", "name": "name"}


def _min_cost_nanos(view: View) -> int:
    text = view.get("minCostUsd")
    if text is None:
        return 0
    try:
        value = float(text)
    except ValueError:
        raise PageError(422, "minCostUsd: must be a number of dollars") from None
    if not 0 <= value <= 1e9:
        raise PageError(422, "minCostUsd: must be between 0 and 1000000000")
    return round(value * 1_000_000_000)


def _offset(view: View) -> int:
    text = view.get("offset") or "0"
    if not text.isdigit() or int(text) > 10**6:
        raise PageError(422, "offset: must be a whole number up to 1000000")
    return int(text)


@router.get("/orgs")
def orgs_page(request: Request, viewer: ViewerDep) -> Response:
    viewer.require_admin()
    view, filters = read(request, viewer)
    sort = view.get("sort") or "costUsd"
    if sort not in SORTS:
        raise PageError(422, f"sort: must be one of {', '.join(SORTS)}")
    order = view.get("order") or ("asc" if sort == "name" else "desc")
    if order not in ("asc", "desc"):
        raise PageError(422, "order: must be asc or desc")
    offset = _offset(view)
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = by_org(
            conn,
            window=view.window,
            filters=filters,
            sort_by=SORTS[sort],  # type: ignore[arg-type]
            sort_order=order,  # type: ignore[arg-type]
            min_cost_nanos=_min_cost_nanos(view),
            limit=PAGE_SIZE,
            offset=offset,
        )
    columns = (
        Column("name", "Organisation", href=lambda r: org_href(view, r["orgId"])),
        Column("costUsd", "Cost", "usd"),
        Column("sharePercent", "Share", "percent", sortable=False),
        Column("requests", "Requests", "count"),
        Column("totalTokens", "Tokens", "compact", sortable=False),
        Column("avgCostPerRequestUsd", "Avg cost per request", "usd", sortable=False),
        Column("previousCostUsd", "Period before", "usd", sortable=False),
        Column("changePercent", "Change", "change", sortable=False),
    )
    table = Table(
        "orgs",
        f"{data['total']} organisations with spend",
        columns,
        data["orgs"],
        view,
        empty="No organisation spent anything in this range (or above the minimum).",
        sort=sort,
        descending=order == "desc",
        sortable=True,
    )
    more = offset + PAGE_SIZE < data["total"]
    api_sort = {"sortBy": SORTS[sort], "sortOrder": order, "offset": offset or None}
    return page(
        request,
        viewer,
        view,
        "analytics/orgs.html",
        title="Organisations",
        tables=[table],
        charts=[],
        api=view.api_url("/by-org", **api_sort),
        data=data,
        next_url=view.url(offset=offset + PAGE_SIZE) if more else None,
        prev_url=view.url(offset=max(offset - PAGE_SIZE, 0) or None) if offset else None,
    )


def requests_table(view: View, rows: list[dict[str, Any]], table_id: str, caption: str) -> Table:
    columns = (
        Column("timestamp", "Time (UTC)", "utc", href=lambda r: request_href(view, r)),
        Column("userId", "User"),
        Column("agent", "Agent"),
        Column("model", "Model"),
        Column("inputTokens", "Input", "compact"),
        Column("outputTokens", "Output", "compact"),
        Column("costUsd", "Cost", "usd"),
        Column("latencyMs", "Latency", "ms"),
        Column("success", "Outcome", says=lambda r: "ok" if r["success"] else "failed"),
        Column("sessionId", "Session", href=lambda r: session_href(view, r)),
    )
    return Table(table_id, caption, columns, rows, view, empty="No requests in this range.")


@router.get("/orgs/{org_id}")
def org_page(request: Request, viewer: ViewerDep, org_id: str) -> Response:
    view, dims = read(request, viewer, fields=("provider", "model", "agent", "userId"))
    org = viewer.scope(org_id)
    if org is None or len(org) > 256 or "\x00" in org:
        raise PageError(404, "no such organisation")
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = org_detail(conn, org_id=org, window=view.window, filters=dims, recent=20)
    if data is None:
        raise PageError(404, "no such organisation")
    models = Table(
        "models",
        "Models",
        (
            Column("model", "Model"),
            Column("provider", "Provider"),
            Column("requests", "Requests", "count"),
            Column("totalTokens", "Tokens", "compact"),
            Column("costUsd", "Cost", "usd"),
            Column("sharePercent", "Share", "percent"),
            Column("successRate", "Success", "ratio"),
        ),
        data["models"],
        view,
    )
    trend = Table(
        "trend",
        "Cost by " + data["trendGroupBy"],
        (
            Column("date", "Date"),
            Column("costUsd", "Cost", "usd"),
            Column("requests", "Requests", "count"),
        ),
        data["trend"],
        view,
    )
    recent = requests_table(view, data["recentRequests"], "recent", "Most recent requests")
    x = [p["date"] for p in data["trend"]]
    total = data["totals"]["costUsd"]
    chart = charts.lines(
        x,
        [("cost", [p["costUsd"] for p in data["trend"]])],
        chart_id="trend",
        title="Cost over time",
        summary=f"Cost by {data['trendGroupBy']} of {data['name']}, {usd(total)} in all.",
    )
    return page(
        request,
        viewer,
        view,
        "analytics/org.html",
        title=data["name"],
        tables=[models, trend, recent],
        charts=[chart],
        api=view.api_url(f"/by-org/{q(org)}", orgId=None),
        data=data,
        links={
            "requests": view.url(f"{BASE}/requests", keep=False, orgId=org),
            "sessions": view.url(f"{BASE}/sessions", keep=False, orgId=org),
            "users": view.url(f"{BASE}/users", keep=False, orgId=org),
        },
    )
