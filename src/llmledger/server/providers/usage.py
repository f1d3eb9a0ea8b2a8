"""``GET /api/v1/admin/llm-costs/provider-usage``: what the providers report beside tokens
(images, audio, vector stores, code-interpreter sessions, moderations), by day, project or
model (admins only). The usage page renders the same function."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from llmledger.providers.openai_metrics import BY_NAME
from llmledger.providers.usage_metrics import GroupBy, usage_metrics
from llmledger.server.analytics.params import NowDep
from llmledger.server.deps import AdminDep, LedgerDep, RolesFirst
from llmledger.server.providers.days import EndDate, Provider, StartDate
from llmledger.server.providers.reconciliation import MAX_DAYS, PREFIX, _day
from llmledger.server.providers.usage_schemas import ProviderUsageOut

router = APIRouter(prefix=PREFIX, tags=["providers"], route_class=RolesFirst)
DAY_S = 86400


def days(start_date: str | None, end_date: str | None, today: dt.date) -> tuple[int, int]:
    """``[start, end)`` of the UTC days asked for (default: this month up to today); a bad
    range is a 422 naming the parameter."""
    start = _day("startDate", start_date, today.replace(day=1))
    end = _day("endDate", end_date, today) + DAY_S
    if end <= start:
        raise HTTPException(422, "endDate: must not be before startDate")
    if end - start > MAX_DAYS * DAY_S:
        raise HTTPException(422, f"startDate: at most {MAX_DAYS} days are shown at once")
    return start, end


def check_metric(metric: str | None) -> str | None:
    if metric is not None and metric not in BY_NAME:
        raise HTTPException(422, f"metric: {metric!r} is not one of {', '.join(BY_NAME)}")
    return metric


@router.get("/provider-usage", response_model=ProviderUsageOut)
def get_provider_usage(
    ledger: LedgerDep,
    _: AdminDep,
    now: NowDep,
    start_date: StartDate = None,
    end_date: EndDate = None,
    provider: Provider | None = None,
    metric: Annotated[str | None, Query(max_length=64, description="One metric only.")] = None,
    group_by: Annotated[GroupBy, Query(alias="groupBy")] = "day",
) -> dict[str, Any]:
    """Default: the current UTC month up to today, every metric, by day."""
    start, end = days(start_date, end_date, now.astimezone(dt.UTC).date())
    with ledger.engine.connect() as conn:
        return usage_metrics(
            conn,
            start_day=start,
            end_day=end,
            group_by=group_by,
            provider=provider,
            metric=check_metric(metric),
        )
