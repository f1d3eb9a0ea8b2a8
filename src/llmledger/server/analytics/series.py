"""Read API for spend over time: trends, the weekly rhythm, the forecast and what-if pricing."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from llmledger.alerts.forecast_budget import monthly_budget
from llmledger.analytics.buckets import GroupBy
from llmledger.analytics.forecast import default_history, forecast
from llmledger.analytics.prices import what_if
from llmledger.analytics.trends import SplitBy, trends, usage_pattern
from llmledger.analytics.window import day_start
from llmledger.server.analytics.params import (
    LABEL,
    DatesDep,
    FiltersDep,
    NowDep,
    WindowDep,
    as_422,
)
from llmledger.server.analytics.series_schemas import (
    ForecastOut,
    TrendsOut,
    UsagePatternOut,
    WhatIfOut,
)
from llmledger.server.analytics.totals import PREFIX
from llmledger.server.deps import LedgerDep, RolesFirst

router = APIRouter(prefix=PREFIX, tags=["analytics"], route_class=RolesFirst)


@router.get("/trends", response_model=TrendsOut)
def get_trends(
    ledger: LedgerDep,
    dates: DatesDep,
    filters: FiltersDep,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
    group_by: Annotated[GroupBy, Query(alias="groupBy")] = "day",
    split_by: Annotated[SplitBy | None, Query(alias="splitBy")] = None,
) -> dict[str, Any]:
    """A time series over the last ``days`` days (or ``startDate``..``endDate``), one series
    per ``splitBy`` value; empty buckets are zero."""
    start = day_start(dates.now) - dt.timedelta(days=days - 1)
    window = dates.window(default_start=start)
    with as_422(), ledger.engine.connect() as conn:
        return trends(conn, window=window, filters=filters, group_by=group_by, split_by=split_by)


@router.get("/usage-pattern", response_model=UsagePatternOut)
def get_usage_pattern(ledger: LedgerDep, window: WindowDep, filters: FiltersDep) -> dict[str, Any]:
    """Cost and requests by UTC weekday and hour of day."""
    with ledger.engine.connect() as conn:
        return usage_pattern(conn, window=window, filters=filters)


@router.get("/forecast", response_model=ForecastOut)
def get_forecast(
    ledger: LedgerDep,
    dates: DatesDep,
    filters: FiltersDep,
    now: NowDep,
    horizon_days: Annotated[int, Query(alias="horizonDays", ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Daily projection with an uncertainty band, and the projected month-end total against
    ``budget``: the active monthly alert rule of the same scope, if any.
    ``startDate``..``endDate`` is the history used (default: the last 8 complete weeks)."""
    history = dates.window() if dates.given else default_history(now)
    with ledger.engine.connect() as conn:
        data = forecast(conn, history=history, filters=filters, now=now, horizon_days=horizon_days)
        data["budget"] = monthly_budget(conn, filters)
    return data


@router.get("/what-if", response_model=WhatIfOut)
def get_what_if(
    ledger: LedgerDep,
    window: WindowDep,
    filters: FiltersDep,
    as_model: Annotated[str, Query(alias="asModel", min_length=1, max_length=LABEL)],
    as_provider: Annotated[str | None, Query(alias="asProvider", max_length=LABEL)] = None,
) -> dict[str, Any]:
    """What the same token usage would have cost at another model's prices, by day."""
    with as_422(), ledger.engine.connect() as conn:
        return what_if(
            conn,
            window=window,
            filters=filters,
            pricer=ledger.pricer(),
            as_model=as_model,
            as_provider=as_provider,
        )
