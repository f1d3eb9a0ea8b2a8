"""``GET /api/v1/admin/llm-costs/alerts/history``: every firing, newest first, with each
channel's delivery status and attempts. An organisation's callers see its rules' firings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from llmledger.alerts.history import history
from llmledger.server.alerts.answers import HistoryOut
from llmledger.server.analytics.params import DatesDep, as_422, scoped_org
from llmledger.server.deps import LedgerDep, ReaderDep, RolesFirst

PREFIX = "/api/v1/admin/llm-costs"
router = APIRouter(prefix=PREFIX, tags=["alerts"], route_class=RolesFirst)


@router.get("/alerts/history", response_model=HistoryOut)
def get_history(
    ledger: LedgerDep,
    principal: ReaderDep,
    dates: DatesDep,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=256)] = None,
    rule_id: Annotated[int | None, Query(alias="ruleId", ge=1, le=2**31 - 1)] = None,
    level: Literal["WARNING", "CRITICAL"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """Firings fired from ``startDate`` to ``endDate`` (default: all), filtered by
    organisation, rule and level; ``cursor`` is the previous page's ``nextCursor``."""
    org = scoped_org(principal, org_id)
    window = None
    if dates.given:
        with as_422():
            window = dates.window()
    with ledger.engine.connect() as conn:
        return history(
            conn,
            org_id=org,
            scoped=not principal.is_admin,
            rule_id=rule_id,
            level=level,
            start_us=window.start_us if window else None,
            end_us=window.end_us if window and dates.end else None,
            limit=limit,
            cursor=cursor,
        )
