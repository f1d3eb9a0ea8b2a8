"""``/global``: the headline figures of a range, compared with the range before it.

Two aggregates answer everything: the range by (bucket, provider, model, success) with every
measure, and cost by bucket over the previous range, month to date and today (each bucket's cost
is given to every range that contains it). Keeping the second one to a single narrow measure
grouped by the rollup key's first column lets the database stream it without sorting.
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
from llmledger.analytics.source import aggregate, counted, kind_of
from llmledger.analytics.spans import contains, within
from llmledger.analytics.window import Window

_DIMS = ("bucket", "provider", "model", "success")

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
    kind = kind_of(filters, _DIMS, FULL)
    current = periods.count(window, kind)
    raw_from = window.raw_from_us
    cost_kind = kind_of(filters, ("bucket",), ("cost_nanos",))
    before, mtd, today = (
        counted(r, cost_kind, raw_from_us=raw_from)
        for r in (periods.previous(current), periods.month_to_date(now), periods.today(now))
    )
    cur, kind = aggregate(conn, [current], filters, dims=_DIMS, measures=FULL, raw_from_us=raw_from)
    # month to date and today usually lie inside the range: then its rows already hold them
    outside = [r for r in (before, mtd, today) if not within(r, current)]
    rows, _ = aggregate(
        conn, outside, filters, dims=("bucket",), measures=("cost_nanos",), raw_from_us=raw_from
    )

    def cost_of(range_: tuple[int, int]) -> int:
        source = rows if range_ in outside else cur
        return sum(r["cost_nanos"] for r in source if contains(range_, r))

    sums = Sums.of(cur)
    previous_cost = cost_of(before)
    by_provider: dict[str, Sums] = defaultdict(Sums)
    for r in cur:
        by_provider[r["provider"]].add(r)
    savings = cache_savings(cur) if cache_savings is not None else None
    return {
        **periods.window_json(window, current, kind),
        **sums.core_json(),
        "monthToDateCostUsd": usd(cost_of(mtd)),
        "todayCostUsd": usd(cost_of(today)),
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
