"""The request log (``/requests``: filters, keyset paging) and one request
(``/requests/{eventId}``): its token classes, the price row that priced it and its cost worked
out line by line."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from llmledger.analytics.breakdowns import by_model
from llmledger.analytics.filters import Filters
from llmledger.analytics.request import request_detail
from llmledger.analytics.requests import request_log
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
from llmledger.server.web.errors import PageError
from llmledger.server.web.render import BASE, page
from llmledger.server.web.tables import Column, Table
from llmledger.server.web.viewer import ViewerDep

router = page_router()
PAGE_SIZE = 50
FILTERS = ("provider", "model", "agent", "userId", "operation", "success")


@router.get("/requests")
def requests_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    cursor = view.get("cursor")
    if cursor is not None and len(cursor) > 200:
        raise PageError(422, "cursor: not a cursor this page gave")
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = request_log(
            conn, window=view.window, filters=filters, limit=PAGE_SIZE, cursor=cursor
        )
        # what the filter boxes suggest: the models of the range, without the model filters
        known = by_model(conn, window=view.window, filters=Filters(org_id=filters.org_id))
    columns: tuple[Column, ...] = (
        Column("timestamp", "Time (UTC)", "utc", href=lambda r: request_href(view, r)),
        Column("orgId", "Organisation", href=lambda r: org_href(view, r["orgId"])),
        Column("userId", "User"),
        Column("agent", "Agent"),
        Column("operation", "Operation"),
        Column("provider", "Provider"),
        Column("model", "Model"),
        Column("inputTokens", "Input", "compact"),
        Column("outputTokens", "Output", "compact"),
        Column("costUsd", "Cost", "usd"),
        Column("latencyMs", "Latency", "ms"),
        Column("success", "Outcome", says=lambda r: "ok" if r["success"] else "failed"),
        Column("sessionId", "Session", href=lambda r: session_href(view, r)),
    )
    if not viewer.is_admin:
        columns = tuple(c for c in columns if c.key != "orgId")
    table = Table(
        "requests",
        "Requests, newest first",
        columns,
        data["requests"],
        view,
        empty="No request matches these filters in this range.",
    )
    after = data["nextCursor"]
    return page(
        request,
        viewer,
        view,
        "analytics/requests.html",
        title="Requests",
        tables=[table],
        api=view.api_url("/requests", cursor=cursor, limit=PAGE_SIZE),
        export=view.api_url("/export"),
        next_url=view.url(cursor=after) if after else None,
        first_url=view.url(cursor=None) if cursor else None,
        providers=sorted({m["provider"] for m in known["models"]}),
        models=sorted({m["model"] for m in known["models"]}),
        filter_names=FILTERS,
    )


@router.get("/requests/{event_id}")
def request_page(request: Request, viewer: ViewerDep, event_id: str) -> Response:
    view, _ = read(request, viewer, fields=())
    wanted = event_id.strip().lower()
    found = None
    if len(wanted) <= 64 and "\x00" not in wanted:
        with ledger_of(request).engine.connect() as conn:
            found = request_detail(conn, event_id=wanted, org_id=viewer.scope(None))
    if found is None:
        raise PageError(404, "no such request")
    r = found["request"]
    classes = Table(
        "tokens",
        "Tokens",
        (Column("label", "Token class"), Column("tokens", "Tokens", "count")),
        [
            {"label": label, "tokens": r[key]}
            for key, label in (
                ("inputTokens", "Input (all)"),
                ("cacheReadTokens", "of which cache reads"),
                ("cacheWrite5mTokens", "of which cache writes (5 min)"),
                ("cacheWrite1hTokens", "of which cache writes (1 h)"),
                ("inputAudioTokens", "of which audio"),
                ("outputTokens", "Output (all)"),
                ("reasoningTokens", "of which reasoning"),
                ("outputAudioTokens", "of which audio"),
                ("requests", "Requests"),
            )
        ],
        view,
    )
    links = {
        "session": session_href(view, r),
        "org": org_href(view, r["orgId"]),
        "model": view.url(f"{BASE}/requests", keep=False, provider=r["provider"], model=r["model"]),
    }
    return page(
        request,
        viewer,
        view,
        "analytics/request.html",
        title="Request " + r["eventId"][:8],
        tables=[classes],
        api=f"/api/v1/admin/llm-costs/requests/{q(r['eventId'])}",
        data=found,
        links=links,
    )
