"""Read API under ``/api/v1/admin/llm-costs``: totals and breakdowns.

Every endpoint takes ``startDate``/``endDate`` and the common filters; the figures are built by
``llmledger.analytics`` (plain data) and only presented here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from llmledger.analytics.breakdowns import by_agent, by_model, by_operation, by_user
from llmledger.analytics.orgs import OrgSort, SortOrder, by_org, org_detail
from llmledger.analytics.overview import overview
from llmledger.analytics.prices import cache_savings_for
from llmledger.server.analytics.params import (
    LABEL,
    DimensionsDep,
    FiltersDep,
    NowDep,
    WindowDep,
    scoped_org,
)
from llmledger.server.analytics.schemas import (
    ByAgentOut,
    ByModelOut,
    ByOperationOut,
    ByOrgOut,
    ByUserOut,
    GlobalOut,
    OrgDetailOut,
)
from llmledger.server.deps import LedgerDep, ReaderDep, RolesFirst

PREFIX = "/api/v1/admin/llm-costs"
router = APIRouter(prefix=PREFIX, tags=["analytics"], route_class=RolesFirst)


@router.get("/global", response_model=GlobalOut)
def get_global(
    ledger: LedgerDep, window: WindowDep, filters: FiltersDep, now: NowDep
) -> dict[str, Any]:
    """Totals over the range with month-to-date, today, the previous equal range, spend by
    provider, fallback-priced spend and what cache reads saved."""
    with ledger.engine.connect() as conn:
        return overview(
            conn,
            window=window,
            filters=filters,
            now=now,
            cache_savings=cache_savings_for(ledger.pricer()),
        )


@router.get("/by-org", response_model=ByOrgOut)
def get_by_org(
    ledger: LedgerDep,
    window: WindowDep,
    filters: FiltersDep,
    sort_by: Annotated[OrgSort, Query(alias="sortBy")] = "cost",
    sort_order: Annotated[SortOrder, Query(alias="sortOrder")] = "desc",
    min_cost_cents: Annotated[int, Query(alias="minCostCents", ge=0, le=10**12)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> dict[str, Any]:
    """One row per organisation with spend in the range: cost, requests, tokens, share of the
    total and change against the previous equal range."""
    with ledger.engine.connect() as conn:
        return by_org(
            conn,
            window=window,
            filters=filters,
            sort_by=sort_by,
            sort_order=sort_order,
            min_cost_nanos=min_cost_cents * 10_000_000,
            limit=limit,
            offset=offset,
        )


@router.get("/by-org/{orgId}", response_model=OrgDetailOut)
def get_org(
    ledger: LedgerDep,
    principal: ReaderDep,
    org_id: Annotated[str, Path(alias="orgId", max_length=LABEL)],
    window: WindowDep,
    dims: DimensionsDep,
    recent: Annotated[int, Query(ge=0, le=100)] = 10,
) -> dict[str, Any]:
    """One organisation: totals, models, daily trend and its most recent requests."""
    org = scoped_org(principal, org_id)
    with ledger.engine.connect() as conn:
        found = (
            org_detail(conn, org_id=org, window=window, filters=dims, recent=recent)
            if org
            else None
        )
    if found is None:
        raise HTTPException(404, "no such organisation")
    return found


@router.get("/by-model", response_model=ByModelOut)
def get_by_model(ledger: LedgerDep, window: WindowDep, filters: FiltersDep) -> dict[str, Any]:
    """Per provider and model: spend, unit costs, latency, success and a 7-day sparkline."""
    with ledger.engine.connect() as conn:
        return by_model(conn, window=window, filters=filters)


@router.get("/by-agent", response_model=ByAgentOut)
def get_by_agent(ledger: LedgerDep, window: WindowDep, filters: FiltersDep) -> dict[str, Any]:
    """Per agent: spend, requests, tokens, success rate and its models."""
    with ledger.engine.connect() as conn:
        return by_agent(conn, window=window, filters=filters)


@router.get("/by-operation", response_model=ByOperationOut)
def get_by_operation(ledger: LedgerDep, window: WindowDep, filters: FiltersDep) -> dict[str, Any]:
    """Per operation: spend, requests, tokens, success rate."""
    with ledger.engine.connect() as conn:
        return by_operation(conn, window=window, filters=filters)


@router.get("/by-user", response_model=ByUserOut)
def get_by_user(
    ledger: LedgerDep,
    window: WindowDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """The users with the highest spend."""
    with ledger.engine.connect() as conn:
        return by_user(conn, window=window, filters=filters, limit=limit)
