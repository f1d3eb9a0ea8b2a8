"""``GET /api/v1/admin/llm-costs/cost-summary``: the pricing page's headline figures and charts
(``analytics.costs``), scoped like every analytics endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from llmledger.analytics.costs import cost_summary
from llmledger.server.analytics.params import FiltersDep, NowDep, WindowDep
from llmledger.server.deps import LedgerDep, RolesFirst
from llmledger.server.pricing.schemas import CostSummaryOut

router = APIRouter(prefix="/api/v1/admin/llm-costs", tags=["pricing"], route_class=RolesFirst)


@router.get("/cost-summary", response_model=CostSummaryOut)
def get_cost_summary(
    ledger: LedgerDep, window: WindowDep, filters: FiltersDep, now: NowDep
) -> dict[str, Any]:
    """Total cost, average cost per session and per request, sessions active in the range,
    cost by provider and the 5 most expensive models."""
    with ledger.engine.connect() as conn:
        return cost_summary(conn, window=window, filters=filters, now=now)
