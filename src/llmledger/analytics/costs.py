"""``/cost-summary``: what the pricing page's headline shows — total cost, average cost per
session and per request, how many sessions the range holds, cost by provider and the most
expensive models.

Sessions are those active in the range (their first request before its end, their last at or
after its start), scoped to the organisation; a session's cost is the whole session's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, select

from llmledger.analytics.breakdowns import by_model
from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import usd, usd_per
from llmledger.analytics.overview import overview
from llmledger.analytics.window import Window
from llmledger.store import tables as t

TOP_MODELS = 5


def session_totals(conn: Connection, *, window: Window, org_id: str | None) -> tuple[int, int]:
    """(sessions active in the range, their whole cost in nano-dollars)."""
    s = t.sessions.c
    q = select(func.count(), func.coalesce(func.sum(s.cost_nanos), 0)).where(
        s.last_us >= window.start_us, s.first_us < window.end_us
    )
    if org_id is not None:
        q = q.where(s.org_id == org_id)
    count, cost = conn.execute(q).one()
    return int(count), int(cost)


def cost_summary(
    conn: Connection, *, window: Window, filters: Filters, now: dt.datetime
) -> dict[str, Any]:
    totals = overview(conn, window=window, filters=filters, now=now)
    models = by_model(conn, window=window, filters=filters)["models"]
    sessions, session_cost = session_totals(conn, window=window, org_id=filters.org_id)
    return {
        **window.as_json(),
        "costUsd": totals["costUsd"],
        "costNanos": totals["costNanos"],
        "requests": totals["totalRequests"],
        "avgCostPerRequestUsd": totals["avgCostPerRequestUsd"],
        "sessions": sessions,
        "avgCostPerSessionUsd": usd_per(session_cost, sessions),
        "sessionsCostUsd": usd(session_cost),
        "fallbackPricedRequests": totals["fallbackPricedRequests"],
        "fallbackPricedCostUsd": totals["fallbackPricedCostUsd"],
        "byProvider": [
            {k: p[k] for k in ("provider", "costUsd", "requests", "sharePercent")}
            for p in totals["byProvider"]
        ],
        "topModels": [
            {k: m[k] for k in ("provider", "model", "costUsd", "requests", "sharePercent")}
            for m in models[:TOP_MODELS]
        ],
    }
