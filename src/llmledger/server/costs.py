"""Read API under ``/api/v1/admin/llm-costs`` (first cut: ``/global``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from llmledger.analytics.totals import global_totals
from llmledger.analytics.window import WindowError, parse_window
from llmledger.server.deps import LedgerDep, ReaderDep, scope_org

router = APIRouter(prefix="/api/v1/admin/llm-costs", tags=["analytics"])


def _now(request: Request) -> dt.datetime:
    clock = request.app.state.clock
    now: dt.datetime = clock()
    return now


@router.get("/global")
def get_global(
    request: Request,
    ledger: LedgerDep,
    principal: ReaderDep,
    start_date: Annotated[str | None, Query(alias="startDate", max_length=40)] = None,
    end_date: Annotated[str | None, Query(alias="endDate", max_length=40)] = None,
) -> dict[str, Any]:
    """Totals over the range (default: this month to now), with month-to-date and today."""
    now = _now(request)
    try:
        window = parse_window(start_date, end_date, now=now)
    except WindowError as exc:
        raise HTTPException(422, str(exc)) from None
    org = scope_org(principal)
    with ledger.engine.connect() as conn:
        return global_totals(conn, window=window, now=now, org_id=org)
