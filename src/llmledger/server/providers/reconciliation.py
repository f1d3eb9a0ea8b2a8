"""``GET /api/v1/admin/llm-costs/reconciliation``: tracked cost and tokens against what the
providers billed and reported, by day, model, project or day and model, with drifts flagged
(admins only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import Engine

from llmledger.providers.reconcile import RECONCILED, Group, reconcile
from llmledger.server.analytics.params import NowDep
from llmledger.server.deps import AdminDep, LedgerDep, RolesFirst
from llmledger.server.providers.days import (
    MAX_DAYS,
    DayError,
    EndDate,
    Provider,
    StartDate,
    day_of,
    day_range,
)
from llmledger.server.providers.schemas import ReconciliationOut
from llmledger.settings import Settings

PREFIX = "/api/v1/admin/llm-costs"
router = APIRouter(prefix=PREFIX, tags=["providers"], route_class=RolesFirst)
__all__ = ["MAX_DAYS", "PREFIX", "_day", "reconciliation_of", "router"]


def _day(param: str, value: str | None, default: dt.date) -> int:
    """One UTC day parameter, a bad one a 422 naming it (the usage API reads its days so)."""
    try:
        return day_of(param, value, default)
    except DayError as exc:
        raise HTTPException(422, str(exc)) from None


def reconciliation_of(
    engine: Engine,
    settings: Settings,
    now: dt.datetime,
    *,
    start_date: str | None,
    end_date: str | None,
    provider: str | None,
    group_by: Group,
) -> dict[str, Any]:
    """The answer of the endpoint (and of its page) for these parameters; raises
    ``DayError`` for a bad range."""
    start, end = day_range(start_date, end_date, now)
    with engine.connect() as conn:
        return reconcile(
            conn,
            start_day=start,
            end_day=end,
            group_by=group_by,
            drift_percent=settings.reconciliation_drift_percent,
            providers=[provider] if provider else RECONCILED,
        )


@router.get("/reconciliation", response_model=ReconciliationOut)
def get_reconciliation(
    ledger: LedgerDep,
    _: AdminDep,
    now: NowDep,
    start_date: StartDate = None,
    end_date: EndDate = None,
    provider: Provider | None = None,
    group_by: Annotated[
        Literal["day", "model", "project", "day_model"], Query(alias="groupBy")
    ] = "day",
) -> dict[str, Any]:
    """Default: the current UTC month up to today."""
    try:
        return reconciliation_of(
            ledger.engine,
            ledger.settings,
            now,
            start_date=start_date,
            end_date=end_date,
            provider=provider,
            group_by=group_by,
        )
    except DayError as exc:
        raise HTTPException(422, str(exc)) from None
