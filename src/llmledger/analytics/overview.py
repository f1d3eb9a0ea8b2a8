"""``/global``: the headline figures of a range, compared with the range before it.

One aggregate by (bucket, provider, model, success) over this range, the previous one, month to
date and today answers everything; each bucket's rows are given to every range containing it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection

from llmledger.analytics import periods
from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import FULL, Sums, change_percent, share_percent, usd
from llmledger.analytics.source import aggregate
from llmledger.analytics.spans import contains
from llmledger.analytics.window import Window

#: prices the cache reads of (bucket, provider, model) rows: nano-dollars saved
CacheSavings = Callable[[Iterable[dict[str, Any]]], int]


def overview(
    conn: Connection,
    *,
    window: Window,
    filters: Filters,
    now: dt.datetime,
    cache_savings: CacheSavings | None = None,
) -> dict[str, Any]:
    current = window.hours
    before = periods.previous(current)
    mtd = periods.month_to_date(now)
    today = periods.today(now)
    rows, kind = aggregate(
        conn,
        [current, before, mtd, today],
        filters,
        dims=("bucket", "provider", "model", "success"),
        measures=FULL,
    )
    cur = [r for r in rows if contains(current, r["bucket"])]
    sums = Sums.of(cur)
    previous_cost = sum(r["cost_nanos"] for r in rows if contains(before, r["bucket"]))
    by_provider: dict[str, Sums] = defaultdict(Sums)
    for r in cur:
        by_provider[r["provider"]].add(r)
    savings = cache_savings(cur) if cache_savings is not None else None
    return {
        **periods.range_json(current),
        **sums.core_json(),
        "monthToDateCostUsd": usd(sum(r["cost_nanos"] for r in rows if contains(mtd, r["bucket"]))),
        "todayCostUsd": usd(sum(r["cost_nanos"] for r in rows if contains(today, r["bucket"]))),
        "previousPeriod": periods.range_json(before),
        "previousPeriodCostUsd": usd(previous_cost),
        "costChangePercent": change_percent(sums.cost, previous_cost),
        "cacheSavingsUsd": None if savings is None else usd(savings),
        "byProvider": [
            {
                "provider": provider,
                "costUsd": usd(s.cost),
                "costNanos": s.cost,
                "requests": s.requests,
                "sharePercent": share_percent(s.cost, sums.cost),
            }
            for provider, s in sorted(by_provider.items(), key=lambda kv: -kv[1].cost)
        ],
        "answeredFrom": kind,
    }
