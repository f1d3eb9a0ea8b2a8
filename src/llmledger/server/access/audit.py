"""``GET /api/v1/admin/audit-log``: who changed what, when and from where (admins only).

There is deliberately no endpoint that changes or deletes audit rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from llmledger.auth.audit import list_audit
from llmledger.server.access.schemas import ID_MAX, NO_NUL, AuditLogOut
from llmledger.server.deps import AdminDep, LedgerDep, RolesFirst
from llmledger.store.rows import to_us

router = APIRouter(prefix="/api/v1/admin", tags=["access"], route_class=RolesFirst)


def instant(param: str, value: str | None, *, end: bool) -> int | None:
    """An ISO date (a whole UTC day; an end date is inclusive) or datetime, as microseconds."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return to_us(moment + dt.timedelta(days=1) if end else moment)
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return to_us(moment)
    except (ValueError, OverflowError):
        raise HTTPException(422, f"{param}: not an ISO date or datetime") from None


def _text(max_length: int, alias: str | None = None) -> Any:
    return Query(alias=alias, min_length=1, max_length=max_length, pattern=NO_NUL)


@router.get("/audit-log", response_model=AuditLogOut)
def get_audit_log(
    ledger: LedgerDep,
    _: AdminDep,
    action: Annotated[str | None, _text(64)] = None,
    actor: Annotated[str | None, _text(400)] = None,
    user_id: Annotated[int | None, Query(alias="userId", ge=1, le=ID_MAX)] = None,
    target: Annotated[str | None, _text(400)] = None,
    org_id: Annotated[str | None, _text(256, alias="orgId")] = None,
    start_date: Annotated[str | None, Query(alias="startDate", max_length=40)] = None,
    end_date: Annotated[str | None, Query(alias="endDate", max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
) -> dict[str, Any]:
    """Audit rows, newest first. ``action`` is exact (``user.create``) or a kind (``user``);
    ``actor`` is an email or token name; ``userId`` the acting user; ``target`` e.g.
    ``user:12``; pass ``nextCursor`` back as ``cursor`` for the next page."""
    with ledger.engine.connect() as conn:
        return list_audit(
            conn,
            action=action,
            actor=actor,
            actor_user_id=user_id,
            target=target,
            org_id=org_id,
            start_us=instant("startDate", start_date, end=False),
            end_us=instant("endDate", end_date, end=True),
            limit=limit,
            cursor=cursor,
        )
