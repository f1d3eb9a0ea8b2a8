"""``GET /api/v1/admin/llm-costs/billing``: what the providers billed, by project (or
workspace) or line item, per day, week, month or year (admins only: a provider's bill spans
every organisation)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import Engine

from llmledger.providers.billing import BillingGroup, Granularity, billing
from llmledger.providers.reconcile import RECONCILED
from llmledger.server.analytics.params import NowDep
from llmledger.server.deps import AdminDep, LedgerDep, RolesFirst
from llmledger.server.providers.days import DayError, EndDate, Provider, StartDate, day_range
from llmledger.server.providers.schemas import BillingOut

PREFIX = "/api/v1/admin/llm-costs"
router = APIRouter(prefix=PREFIX, tags=["providers"], route_class=RolesFirst)


def billing_of(
    engine: Engine,
    now: dt.datetime,
    *,
    start_date: str | None,
    end_date: str | None,
    provider: str | None,
    group_by: BillingGroup,
    granularity: Granularity,
) -> dict[str, Any]:
    """The answer of the endpoint (and of its page); raises ``DayError`` for a bad range."""
    start, end = day_range(start_date, end_date, now)
    with engine.connect() as conn:
        return billing(
            conn,
            start_day=start,
            end_day=end,
            group_by=group_by,
            granularity=granularity,
            providers=[provider] if provider else RECONCILED,
        )


@router.get("/billing", response_model=BillingOut)
def get_billing(
    ledger: LedgerDep,
    _: AdminDep,
    now: NowDep,
    start_date: StartDate = None,
    end_date: EndDate = None,
    provider: Provider | None = None,
    group_by: Annotated[Literal["project", "line_item"], Query(alias="groupBy")] = "project",
    granularity: Literal["day", "week", "month", "year"] = "day",
) -> dict[str, Any]:
    """Default: the current UTC month up to today, by project, per day."""
    try:
        return billing_of(
            ledger.engine,
            now,
            start_date=start_date,
            end_date=end_date,
            provider=provider,
            group_by=group_by,
            granularity=granularity,
        )
    except DayError as exc:
        raise HTTPException(422, str(exc)) from None
