"""``POST /aggregate``: rebuild the rollups of a range from raw events (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from llmledger.analytics.maintenance import PeriodType, rebuild_range
from llmledger.analytics.window import parse_window
from llmledger.server.analytics.params import NowDep, as_422
from llmledger.server.analytics.series_schemas import AggregateOut
from llmledger.server.analytics.totals import PREFIX
from llmledger.server.deps import AdminDep, LedgerDep, RolesFirst
from llmledger.store.rows import to_us

router = APIRouter(prefix=PREFIX, tags=["analytics"], route_class=RolesFirst)


class AggregateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    periodType: PeriodType
    startDate: str = Field(max_length=40, description="First day (ISO date or datetime).")
    endDate: str = Field(max_length=40, description="Last day, inclusive (ISO date or datetime).")


@router.post("/aggregate", response_model=AggregateOut)
def post_aggregate(
    request: Request, body: AggregateIn, ledger: LedgerDep, _: AdminDep, now: NowDep
) -> dict[str, Any]:
    """Recount hour and day rollups, sessions and user-days of whole UTC days from raw events,
    repairing any difference. Never reaches back past the retention cutoff, nor past the
    furthest prune (``clipped`` says when the range asked began before it)."""
    with as_422():  # a reversed range, or one wholly before the retention cutoff: 422
        window = parse_window(body.startDate, body.endDate, now=now)
        return rebuild_range(
            ledger.engine,
            period_type=body.periodType,
            window=window,
            now_us=to_us(now),
            retention_days=request.app.state.settings.retention_days,
        )
