"""Sessions (``/sessions``: the expensive ones first) and one session
(``/sessions/{sessionId}``): its requests in time order."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from llmledger.analytics.errors import ParamError
from llmledger.analytics.sessions import session_detail, session_list
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
from llmledger.server.web.formats import usd
from llmledger.server.web.render import page
from llmledger.server.web.tables import Column, Table
from llmledger.server.web.view import View
from llmledger.server.web.viewer import ViewerDep

router = page_router()
SORTS = {"costUsd": "cost", "requests": "requests", "durationMinutes": "duration"}


def _agents(r: dict[str, Any]) -> str:
    return ", ".join(f"{a['agent'] or 'none'} ({usd(a['costUsd'])})" for a in r["agents"])


def _min_cost(view: View) -> int:
    text = view.get("minCostUsd") or "0"
    try:
        value = float(text)
    except ValueError:
        raise PageError(422, "minCostUsd: must be a number of dollars") from None
    if not 0 <= value <= 1e9:
        raise PageError(422, "minCostUsd: must be between 0 and 1000000000")
    return round(value * 1_000_000_000)


@router.get("/sessions")
def sessions_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer, fields=("orgId", "agent", "userId"))
    sort = view.get("sort") or "costUsd"
    if sort not in SORTS:
        raise PageError(422, f"sort: must be one of {', '.join(SORTS)}")
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = session_list(
            conn,
            window=view.window,
            filters=filters,
            sort_by=SORTS[sort],  # type: ignore[arg-type]
            min_cost_nanos=_min_cost(view),
            limit=50,
        )
    columns = [
        Column("sessionId", "Session", href=lambda r: session_href(view, r), sortable=False),
        Column("orgId", "Organisation", href=lambda r: org_href(view, r["orgId"]), sortable=False),
        Column("userId", "User", sortable=False),
        Column("agents", "Agents", value=_agents, sortable=False),
        Column("costUsd", "Cost", "usd"),
        Column("requests", "Calls", "count"),
        Column("durationMinutes", "Duration", "minutes"),
        Column("firstSeen", "Started (UTC)", "utc", sortable=False),
    ]
    if not viewer.is_admin:
        columns = [c for c in columns if c.key != "orgId"]
    table = Table(
        "sessions",
        "The 50 costliest sessions" if sort == "costUsd" else "50 sessions",
        columns,
        data["sessions"],
        view,
        empty="No session was active in this range.",
        sort=sort,
        descending=True,
        sortable=True,
    )
    return page(
        request,
        viewer,
        view,
        "analytics/sessions.html",
        title="Sessions",
        tables=[table],
        api=view.api_url("/sessions", sortBy=SORTS[sort], minCostUsd=view.get("minCostUsd")),
    )


@router.get("/sessions/{session_id}")
def session_page(request: Request, viewer: ViewerDep, session_id: str) -> Response:
    view, _ = read(request, viewer, fields=())
    org = viewer.scope(view.get("orgId"))
    found = None
    if len(session_id) <= 256 and "\x00" not in session_id:
        try:
            with ledger_of(request).engine.connect() as conn:
                found = session_detail(conn, session_id=session_id, org_id=org)
        except ParamError as exc:
            raise PageError(422, str(exc)) from None
    if found is None:
        raise PageError(404, "no such session")
    s = found["session"]
    columns = (
        Column("timestamp", "Time (UTC)", "utc", href=lambda r: request_href(view, r)),
        Column("agent", "Agent"),
        Column("model", "Model"),
        Column("inputTokens", "Input", "compact"),
        Column("outputTokens", "Output", "compact"),
        Column("costUsd", "Cost", "usd"),
        Column("latencyMs", "Latency", "ms"),
        Column("success", "Outcome", says=lambda r: "ok" if r["success"] else "failed"),
        Column("agentSessionId", "Agent session"),
        Column("agentExecutionId", "Execution"),
        Column("agentPlanId", "Plan"),
    )
    table = Table("requests", "Requests in time order", columns, found["requests"], view)
    return page(
        request,
        viewer,
        view,
        "analytics/session.html",
        title=f"Session {s['sessionId']}",
        tables=[table],
        api=f"/api/v1/admin/llm-costs/sessions/{q(s['sessionId'])}?orgId={q(s['orgId'] or '')}",
        data=found,
        org_link=org_href(view, s["orgId"]),
    )
