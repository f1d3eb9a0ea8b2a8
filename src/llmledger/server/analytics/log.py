"""Read API over raw events and sessions: the session list and timeline, the request log and
the CSV export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import StreamingResponse

from llmledger.analytics.export import export_csv
from llmledger.analytics.request import request_detail
from llmledger.analytics.requests import request_log
from llmledger.analytics.sessions import SessionSort, session_detail, session_list
from llmledger.server.analytics.params import (
    LABEL,
    FiltersDep,
    WindowDep,
    as_422,
    scoped_org,
)
from llmledger.server.analytics.series_schemas import (
    RequestDetailOut,
    RequestsOut,
    SessionDetailOut,
    SessionsOut,
)
from llmledger.server.analytics.totals import PREFIX
from llmledger.server.deps import LedgerDep, ReaderDep, RolesFirst

router = APIRouter(prefix=PREFIX, tags=["analytics"], route_class=RolesFirst)


@router.get("/sessions", response_model=SessionsOut)
def get_sessions(
    ledger: LedgerDep,
    window: WindowDep,
    filters: FiltersDep,
    sort_by: Annotated[SessionSort, Query(alias="sortBy")] = "cost",
    min_cost_usd: Annotated[
        float, Query(alias="minCostUsd", ge=0, le=1e9, allow_inf_nan=False)
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Sessions active in the range: user, organisation, agents, cost, requests, duration."""
    with ledger.engine.connect() as conn:
        return session_list(
            conn,
            window=window,
            filters=filters,
            sort_by=sort_by,
            min_cost_nanos=round(min_cost_usd * 1_000_000_000),
            limit=limit,
        )


@router.get("/sessions/{sessionId}", response_model=SessionDetailOut)
def get_session(
    ledger: LedgerDep,
    principal: ReaderDep,
    session_id: Annotated[str, Path(alias="sessionId", max_length=LABEL)],
    org_id: Annotated[str | None, Query(alias="orgId", max_length=LABEL)] = None,
) -> dict[str, Any]:
    """One session's requests in time order, with agent, model, tokens, cost and latency."""
    org = scoped_org(principal, org_id)
    if "\x00" in session_id:  # ingest never stores a NUL, and PostgreSQL refuses one in a query
        raise HTTPException(404, "no such session")
    with as_422(), ledger.engine.connect() as conn:
        found = session_detail(conn, session_id=session_id, org_id=org)
    if found is None:
        raise HTTPException(404, "no such session")
    return found


@router.get("/requests", response_model=RequestsOut)
def get_requests(
    ledger: LedgerDep,
    window: WindowDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The request log, newest first; pass ``nextCursor`` back as ``cursor`` for more."""
    with as_422(), ledger.engine.connect() as conn:
        return request_log(conn, window=window, filters=filters, limit=limit, cursor=cursor)


@router.get("/requests/{eventId}", response_model=RequestDetailOut)
def get_request(
    ledger: LedgerDep,
    principal: ReaderDep,
    event_id: Annotated[str, Path(alias="eventId", max_length=64)],
) -> dict[str, Any]:
    """One request: every token class, the price row that priced it (source, effective dates)
    and its cost explained line by line, with the arithmetic's total."""
    org = scoped_org(principal, None)
    if "\x00" in event_id:  # ingest never stores a NUL, and PostgreSQL refuses one in a query
        raise HTTPException(404, "no such request")
    with ledger.engine.connect() as conn:
        found = request_detail(conn, event_id=event_id.strip().lower(), org_id=org)
    if found is None:
        raise HTTPException(404, "no such request")
    return found


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, one event a line"}},
)
def get_export(ledger: LedgerDep, window: WindowDep, filters: FiltersDep) -> StreamingResponse:
    """Raw events of the range as CSV (streamed, oldest first)."""
    name = f"llm-costs-{window.as_json()['startDate'][:10]}-{window.as_json()['endDate'][:10]}"
    return StreamingResponse(
        export_csv(ledger.engine, window=window, filters=filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
