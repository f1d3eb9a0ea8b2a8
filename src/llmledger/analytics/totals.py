"""Range totals from the hourly rollup (the first cut of ``/global``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, select

from llmledger.analytics.window import Window
from llmledger.money import nanos_to_float
from llmledger.store import tables as t
from llmledger.store.rows import to_us

_SUMS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
    "cost_nanos",
    "latency_ms_sum",
    "latency_count",
)


def _sums(conn: Connection, window: Window, org_id: str | None) -> dict[str, int]:
    r = t.rollup_hour
    q = select(*(func.coalesce(func.sum(r.c[m]), 0).label(m) for m in _SUMS)).where(
        r.c.bucket >= window.start_hour, r.c.bucket < window.end_hour
    )
    ok = select(func.coalesce(func.sum(r.c.requests), 0)).where(
        r.c.bucket >= window.start_hour, r.c.bucket < window.end_hour, r.c.success.is_(True)
    )
    if org_id is not None:
        q = q.where(r.c.org_id == org_id)
        ok = ok.where(r.c.org_id == org_id)
    row = conn.execute(q).one()
    out = {m: int(getattr(row, m)) for m in _SUMS}
    out["success_requests"] = int(conn.execute(ok).scalar_one())
    return out


def global_totals(
    conn: Connection, *, window: Window, now: dt.datetime, org_id: str | None = None
) -> dict[str, Any]:
    s = _sums(conn, window, org_id)
    now_utc = now.astimezone(dt.UTC)
    day_start = now_utc.replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = day_start.replace(day=1)
    end = to_us(now_utc) + 1
    mtd = _sums(conn, Window(to_us(month_start), end), org_id)["cost_nanos"]
    today = _sums(conn, Window(to_us(day_start), end), org_id)["cost_nanos"]
    requests = s["requests"]
    return {
        "costUsd": nanos_to_float(s["cost_nanos"]),
        "costNanos": s["cost_nanos"],
        "totalRequests": requests,
        "inputTokens": s["input_tokens"],
        "outputTokens": s["output_tokens"],
        "cacheReadTokens": s["cache_read_tokens"],
        "reasoningTokens": s["reasoning_tokens"],
        "avgLatencyMs": round(s["latency_ms_sum"] / s["latency_count"], 1)
        if s["latency_count"]
        else None,
        "successRate": round(s["success_requests"] / requests, 6) if requests else None,
        "monthToDateCostUsd": nanos_to_float(mtd),
        "todayCostUsd": nanos_to_float(today),
    }
