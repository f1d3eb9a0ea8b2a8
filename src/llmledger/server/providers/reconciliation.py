"""``GET /api/v1/admin/llm-costs/reconciliation``: tracked cost and tokens against what the
providers billed and reported, by day, model or project, with drifts flagged (admins only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from llmledger.providers.reconcile import RECONCILED, reconcile
from llmledger.server.analytics.params import NowDep
from llmledger.server.deps import AdminDep, LedgerDep, RolesFirst
from llmledger.server.providers.schemas import ReconciliationOut

PREFIX = "/api/v1/admin/llm-costs"
router = APIRouter(prefix=PREFIX, tags=["providers"], route_class=RolesFirst)
DAY_S = 86400
MAX_DAYS = 3660


def _day(param: str, value: str | None, default: dt.date) -> int:
    if value is None:
        day = default
    else:
        try:
            if len(value) != 10:
                raise ValueError
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise HTTPException(
                422, f"{param}: {value!r} is not a date (YYYY-MM-DD, a whole UTC day)"
            ) from None
        if not 1970 <= day.year <= 2999:
            raise HTTPException(422, f"{param}: must be between 1970 and 2999")
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())


@router.get("/reconciliation", response_model=ReconciliationOut)
def get_reconciliation(
    ledger: LedgerDep,
    _: AdminDep,
    now: NowDep,
    start_date: Annotated[
        str | None,
        Query(alias="startDate", max_length=10, description="First UTC day (YYYY-MM-DD)."),
    ] = None,
    end_date: Annotated[
        str | None,
        Query(alias="endDate", max_length=10, description="Last UTC day, inclusive."),
    ] = None,
    provider: Literal["openai", "anthropic", "groq"] | None = None,
    group_by: Annotated[Literal["day", "model", "project"], Query(alias="groupBy")] = "day",
) -> dict[str, Any]:
    """Default: the current UTC month up to today."""
    today = now.astimezone(dt.UTC).date()
    start = _day("startDate", start_date, today.replace(day=1))
    end = _day("endDate", end_date, today) + DAY_S
    if end <= start:
        raise HTTPException(422, "endDate: must not be before startDate")
    if end - start > MAX_DAYS * DAY_S:
        raise HTTPException(422, f"startDate: at most {MAX_DAYS} days are reconciled at once")
    with ledger.engine.connect() as conn:
        return reconcile(
            conn,
            start_day=start,
            end_day=end,
            group_by=group_by,
            drift_percent=ledger.settings.reconciliation_drift_percent,
            providers=[provider] if provider else RECONCILED,
        )
