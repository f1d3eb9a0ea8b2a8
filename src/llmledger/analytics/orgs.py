"""Spend by organisation (``/by-org``) and one organisation in detail (``/by-org/{orgId}``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Literal

from sqlalchemy import Connection, select

from llmledger.analytics import periods
from llmledger.analytics.buckets import (
    GroupBy,
    bucket_count,
    bucket_of,
    bucket_starts,
    seconds,
)
from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import (
    CORE,
    FULL,
    Sums,
    change_percent,
    share_percent,
    usd,
    usd_per,
)
from llmledger.analytics.requests import request_log
from llmledger.analytics.source import aggregate, counted, kind_of
from llmledger.analytics.spans import contains
from llmledger.analytics.window import Window, iso_s
from llmledger.store import tables as t

OrgSort = Literal["cost", "requests", "name"]
SortOrder = Literal["asc", "desc"]


def org_names(conn: Connection, org_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted({o for o in org_ids if o})
    o = t.organizations.c
    names: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        q = select(o.org_id, o.name).where(o.org_id.in_(ids[i : i + 500]))
        names.update({r.org_id: r.name for r in conn.execute(q)})
    return names


def org_list(conn: Connection) -> list[dict[str, str]]:
    """Every organisation, by name (for an admin's scope selector)."""
    o = t.organizations.c
    rows = conn.execute(select(o.org_id, o.name).order_by(o.name, o.org_id))
    return [{"orgId": r.org_id, "name": r.name} for r in rows]


def by_org(
    conn: Connection,
    *,
    window: Window,
    filters: Filters,
    sort_by: OrgSort = "cost",
    sort_order: SortOrder = "desc",
    min_cost_nanos: int = 0,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """One row per organisation with spend in the range, with its change against the previous
    range of equal length. Shares are of the total over every organisation (before paging)."""
    dims = ("bucket", "org_id")
    kind = kind_of(filters, dims, CORE)
    current = periods.count(window, kind)
    before = counted(periods.previous(current), kind, raw_from_us=window.raw_from_us)
    rows, kind = aggregate(
        conn,
        [current, before],
        filters,
        dims=dims,
        measures=CORE,
        raw_from_us=window.raw_from_us,
    )
    now: dict[str | None, Sums] = defaultdict(Sums)
    then: dict[str | None, int] = defaultdict(int)
    for r in rows:
        if contains(current, r):
            now[r["org_id"]].add(r)
        else:
            then[r["org_id"]] += r["cost_nanos"]
    total = sum(s.cost for s in now.values())
    names = org_names(conn, (o for o in now if o))
    items = [
        {
            "orgId": org,
            "name": names.get(org, org) if org else None,
            **s.money(),
            "avgCostPerRequestUsd": usd_per(s.cost, s.requests),
            "sharePercent": share_percent(s.cost, total),
            "previousCostUsd": usd(then[org]),
            "changePercent": change_percent(s.cost, then[org]),
        }
        for org, s in now.items()
        if s.cost >= min_cost_nanos and (s.requests or s.cost)
    ]
    items.sort(key=lambda i: ((i["name"] or "").casefold(), i["orgId"] or ""))
    if sort_by != "name":
        field = "costNanos" if sort_by == "cost" else "requests"
        items.sort(key=lambda i: i[field], reverse=sort_order == "desc")
    elif sort_order == "desc":
        items.reverse()
    return {
        **periods.window_json(window, current, kind),
        "previousPeriod": periods.range_json(before),
        "totalCostUsd": usd(total),
        "total": len(items),
        "limit": limit,
        "offset": offset,
        "orgs": items[offset : offset + limit],
        "answeredFrom": kind,
    }


def trend_step(start: int, end: int, most: int = 400) -> GroupBy:
    """Days, unless the range has more than ``most`` of them; then weeks, then months."""
    for step in ("day", "week"):
        if bucket_count(start, end, step) <= most:
            return step
    return "month"


def org_detail(
    conn: Connection, *, org_id: str, window: Window, filters: Filters, recent: int = 10
) -> dict[str, Any] | None:
    """Totals, models, a daily trend (weekly or monthly over long ranges) and the latest
    requests of one organisation; ``None`` when it is unknown."""
    names = org_names(conn, [org_id])
    if org_id not in names:
        return None
    filters = filters.with_org(org_id)
    dims = ("bucket", "provider", "model", "success")
    current = periods.count(window, kind_of(filters, dims, FULL))
    rows, kind = aggregate(
        conn, [current], filters, dims=dims, measures=FULL, raw_from_us=window.raw_from_us
    )
    models: dict[tuple[str, str], Sums] = defaultdict(Sums)
    first, last = seconds(current)
    step = trend_step(first, last)
    buckets: dict[int, Sums] = defaultdict(Sums)
    for r in rows:
        models[(r["provider"], r["model"])].add(r)
        buckets[bucket_of(r["bucket"], step)].add(r)
    totals = Sums.of(rows)
    log = request_log(conn, window=window, filters=filters, limit=recent)
    return {
        **periods.window_json(window, current, kind),
        "orgId": org_id,
        "name": names[org_id],
        "totals": totals.core_json(),
        "models": [
            {
                "provider": provider,
                "model": model,
                **s.money(),
                "successRate": s.success_rate,
                "sharePercent": share_percent(s.cost, totals.cost),
            }
            for (provider, model), s in sorted(models.items(), key=lambda kv: (-kv[1].cost, kv[0]))
        ],
        "trendGroupBy": step,
        "trend": [
            {"date": iso_s(b)[:10], **buckets[b].money()} for b in bucket_starts(first, last, step)
        ],
        "recentRequests": log["requests"],
        "answeredFrom": kind,
    }
