"""Time series (``/trends``) and the weekly rhythm (``/usage-pattern``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from sqlalchemy import Connection

from llmledger.analytics import periods
from llmledger.analytics.buckets import (
    MAX_BUCKETS,
    GroupBy,
    bucket_count,
    bucket_of,
    bucket_starts,
    seconds,
)
from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import CORE, Sums, usd
from llmledger.analytics.source import aggregate, kind_of
from llmledger.analytics.window import DAY_S, HOUR_S, Window, WindowError, iso_s

SplitBy = Literal["provider", "model", "org", "agent"]

_SPLIT_DIMS: dict[str, tuple[str, ...]] = {
    "provider": ("provider",),
    "model": ("provider", "model"),
    "org": ("org_id",),
    "agent": ("agent",),
}
_FIELDS = {"provider": "provider", "model": "model", "org_id": "orgId", "agent": "agent"}


def _point(bucket: int, sums: Sums | None) -> dict[str, Any]:
    return {"bucket": iso_s(bucket), **(sums or Sums()).money()}


def trends(
    conn: Connection,
    *,
    window: Window,
    filters: Filters,
    group_by: GroupBy = "day",
    split_by: SplitBy | None = None,
) -> dict[str, Any]:
    """Cost, requests and tokens per bucket, one series per split value (or one series);
    every bucket of the range is present, the empty ones as zero. The first and last buckets
    count only what lies inside the range, so the buckets add up to the range's total."""
    split = _SPLIT_DIMS[split_by] if split_by else ()
    dims, hourly = ("bucket", *split), group_by == "hour"
    kind = kind_of(filters, dims, CORE, hourly=hourly)
    current = periods.count(window, kind)
    first, last = seconds(current)
    if bucket_count(first, last, group_by) > MAX_BUCKETS:
        raise WindowError(
            "groupBy", f"{group_by} buckets over this range would be more than {MAX_BUCKETS}"
        )
    rows, kind = aggregate(
        conn,
        [current],
        filters,
        dims=dims,
        measures=CORE,
        hourly=hourly,
        raw_from_us=window.raw_from_us,
    )
    series: dict[tuple[Any, ...], dict[int, Sums]] = defaultdict(lambda: defaultdict(Sums))
    totals: dict[int, Sums] = defaultdict(Sums)
    for r in rows:
        b = bucket_of(r["bucket"], group_by)
        series[tuple(r[d] for d in split)][b].add(r)
        totals[b].add(r)
    buckets = bucket_starts(first, last, group_by)
    ranked = sorted(
        series.items(),
        key=lambda kv: (-sum(s.cost for s in kv[1].values()), [str(k) for k in kv[0]]),
    )
    return {
        **periods.window_json(window, current, kind),
        "groupBy": group_by,
        "splitBy": split_by,
        "buckets": [iso_s(b) for b in buckets],
        "totals": [_point(b, totals.get(b)) for b in buckets],
        "series": [
            {
                "key": "/".join(str(k) for k in key) if split else None,
                **{_FIELDS[d]: v for d, v in zip(split, key, strict=True)},
                "costUsd": usd(sum(s.cost for s in points.values())),
                "points": [_point(b, points.get(b)) for b in buckets],
            }
            for key, points in ranked
        ],
        "answeredFrom": kind,
    }


def usage_pattern(conn: Connection, *, window: Window, filters: Filters) -> dict[str, Any]:
    """Cost and requests by UTC weekday (0 = Monday) and hour of day: 168 cells."""
    dims, measures = ("bucket",), ("requests", "cost_nanos")
    current = periods.count(window, kind_of(filters, dims, measures, hourly=True))
    rows, kind = aggregate(
        conn,
        [current],
        filters,
        dims=dims,
        measures=measures,
        hourly=True,
        raw_from_us=window.raw_from_us,
    )
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        b = r["bucket"]
        weekday = (b // DAY_S + 3) % 7  # 1970-01-01 was a Thursday
        cell = cells[(weekday, b % DAY_S // HOUR_S)]
        cell[0] += r["cost_nanos"]
        cell[1] += r["requests"]
    return {
        **periods.window_json(window, current, kind),
        "cells": [
            {
                "weekday": w,
                "hour": h,
                "costUsd": usd(cells[(w, h)][0]),
                "costNanos": cells[(w, h)][0],
                "requests": cells[(w, h)][1],
            }
            for w in range(7)
            for h in range(24)
        ],
        "answeredFrom": kind,
    }
