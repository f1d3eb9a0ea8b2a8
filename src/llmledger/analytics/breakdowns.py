"""Spend broken down by model, agent, operation and user (``/by-model`` and friends)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection

from llmledger.analytics import periods
from llmledger.analytics.buckets import trend_of
from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import CORE, Sums, share_percent, usd, usd_per
from llmledger.analytics.source import aggregate, kind_of
from llmledger.analytics.spans import US, contains
from llmledger.analytics.window import DAY_S, Window, floor_day

SPARK_DAYS = 7


def _ranked(groups: dict[Any, Sums]) -> list[tuple[Any, Sums]]:
    """Largest cost first; ties by key, ``None`` last, so the order is stable."""
    return sorted(groups.items(), key=lambda kv: (-kv[1].cost, kv[0] is None, str(kv[0])))


def by_model(conn: Connection, *, window: Window, filters: Filters) -> dict[str, Any]:
    dims = ("bucket", "provider", "model", "success")
    measures = (*CORE, "latency_ms_sum", "latency_count")
    kind = kind_of(filters, dims, measures)
    current = periods.count(window, kind)
    first_day = floor_day((current[1] - 1) // US) - (SPARK_DAYS - 1) * DAY_S
    spark = (first_day * US, current[1])
    rows, kind = aggregate(
        conn,
        [current, spark],
        filters,
        dims=dims,
        measures=measures,
        raw_from_us=window.raw_from_us,
    )
    models: dict[tuple[str, str], Sums] = defaultdict(Sums)
    daily: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * SPARK_DAYS)
    for r in rows:
        key = (r["provider"], r["model"])
        if contains(current, r):
            models[key].add(r)
        if contains(spark, r):
            daily[key][(floor_day(r["bucket"]) - first_day) // DAY_S] += r["cost_nanos"]
    total = sum(s.cost for s in models.values())
    out = []
    for (provider, model), s in _ranked(models):
        days = daily[(provider, model)]
        out.append(
            {
                "provider": provider,
                "model": model,
                **s.money(),
                "avgCostPerRequestUsd": usd_per(s.cost, s.requests),
                "costPer1kTokensUsd": usd_per(s.cost * 1000, s.tokens),
                "avgTokensPerRequest": round(s.tokens / s.requests, 1) if s.requests else None,
                "avgLatencyMs": s.avg_latency_ms,
                "successRate": s.success_rate,
                "sharePercent": share_percent(s.cost, total),
                "sparkline": [usd(v) for v in days],
                "trend": trend_of(days),
            }
        )
    return {
        **periods.window_json(window, current, kind),
        "sparklineStartDate": periods.range_json(spark)["startDate"],
        "totalCostUsd": usd(total),
        "models": out,
        "answeredFrom": kind,
    }


def calls_by_model(
    conn: Connection, *, window: Window, filters: Filters
) -> dict[tuple[str, str], int]:
    """Requests per (provider, model) in the window — the overview's "Calls (24h)": one narrow
    sum, not ``by_model``'s every measure and its week of sparklines."""
    dims = ("provider", "model")
    kind = kind_of(filters, dims, ("requests",))
    rows, _ = aggregate(
        conn,
        [periods.count(window, kind)],
        filters,
        dims=dims,
        measures=("requests",),
        raw_from_us=window.raw_from_us,
    )
    return {(r["provider"], r["model"]): r["requests"] for r in rows}


def by_agent(conn: Connection, *, window: Window, filters: Filters) -> dict[str, Any]:
    dims = ("agent", "provider", "model", "success")
    current = periods.count(window, kind_of(filters, dims, CORE))
    rows, kind = aggregate(
        conn, [current], filters, dims=dims, measures=CORE, raw_from_us=window.raw_from_us
    )
    agents: dict[str | None, Sums] = defaultdict(Sums)
    models: dict[str | None, dict[tuple[str, str], Sums]] = defaultdict(lambda: defaultdict(Sums))
    for r in rows:
        agents[r["agent"]].add(r)
        models[r["agent"]][(r["provider"], r["model"])].add(r)
    total = sum(s.cost for s in agents.values())
    return {
        **periods.window_json(window, current, kind),
        "totalCostUsd": usd(total),
        "agents": [
            {
                "agent": agent,
                **s.money(),
                "successRate": s.success_rate,
                "sharePercent": share_percent(s.cost, total),
                "models": [
                    {
                        "provider": provider,
                        "model": model,
                        "costUsd": usd(m.cost),
                        "costNanos": m.cost,
                        "requests": m.requests,
                    }
                    for (provider, model), m in _ranked(models[agent])
                ],
            }
            for agent, s in _ranked(agents)
        ],
        "answeredFrom": kind,
    }


def by_operation(conn: Connection, *, window: Window, filters: Filters) -> dict[str, Any]:
    dims = ("operation", "success")
    current = periods.count(window, kind_of(filters, dims, CORE))
    rows, kind = aggregate(
        conn, [current], filters, dims=dims, measures=CORE, raw_from_us=window.raw_from_us
    )
    ops: dict[str | None, Sums] = defaultdict(Sums)
    for r in rows:
        ops[r["operation"]].add(r)
    total = sum(s.cost for s in ops.values())
    return {
        **periods.window_json(window, current, kind),
        "totalCostUsd": usd(total),
        "operations": [
            {
                "operation": op,
                **s.money(),
                "avgCostPerRequestUsd": usd_per(s.cost, s.requests),
                "successRate": s.success_rate,
                "sharePercent": share_percent(s.cost, total),
            }
            for op, s in _ranked(ops)
        ],
        "answeredFrom": kind,
    }


def by_user(conn: Connection, *, window: Window, filters: Filters, limit: int) -> dict[str, Any]:
    """Top users by cost. Events without a user are not a row, but they count in the total."""
    dims = ("org_id", "user_id")
    current = periods.count(window, kind_of(filters, dims, CORE))
    rows, kind = aggregate(
        conn,
        [current],
        filters,
        dims=dims,
        measures=CORE,
        top=("cost_nanos", limit),
        raw_from_us=window.raw_from_us,
    )
    # over the same range as the users (not widened again, should the rollups count it)
    (whole,), _ = aggregate(conn, [current], filters, measures=("cost_nanos",))
    total = whole["cost_nanos"]
    return {
        **periods.window_json(window, current, kind),
        "totalCostUsd": usd(total),
        "users": [
            {
                "orgId": r["org_id"],
                "userId": r["user_id"],
                **Sums().add(r).money(),
                "sharePercent": share_percent(r["cost_nanos"], total),
                "avgCostPerRequestUsd": usd_per(r["cost_nanos"], r["requests"]),
            }
            for r in rows
        ],
        "answeredFrom": kind,
    }
