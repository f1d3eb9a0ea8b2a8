"""Time buckets of a series: UTC hours, days, ISO weeks (from Monday) and calendar months."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from llmledger.analytics.window import DAY_S, HOUR_S

GroupBy = Literal["hour", "day", "week", "month"]
Trend = Literal["up", "down", "flat"]

#: a series longer than this many buckets is refused (ask for a coarser groupBy)
MAX_BUCKETS = 5000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def bucket_of(seconds: int, group_by: GroupBy) -> int:
    """The start of the bucket that contains ``seconds``."""
    if group_by == "hour":
        return seconds - seconds % HOUR_S
    day = seconds - seconds % DAY_S
    if group_by == "day":
        return day
    if group_by == "week":
        weekday = (day // DAY_S + 3) % 7  # 1970-01-01 was a Thursday
        return day - weekday * DAY_S
    moment = _EPOCH + dt.timedelta(seconds=day)
    return int((moment.replace(day=1) - _EPOCH).total_seconds())


def next_bucket(start: int, group_by: GroupBy) -> int:
    if group_by == "hour":
        return start + HOUR_S
    if group_by == "day":
        return start + DAY_S
    if group_by == "week":
        return start + 7 * DAY_S
    moment = _EPOCH + dt.timedelta(seconds=start)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return int((moment.replace(year=year, month=month) - _EPOCH).total_seconds())


def bucket_count(start: int, end: int, group_by: GroupBy) -> int:
    """How many buckets cover ``[start, end)`` (an estimate for months, for the size guard)."""
    width = {"hour": HOUR_S, "day": DAY_S, "week": 7 * DAY_S, "month": 28 * DAY_S}[group_by]
    return (end - bucket_of(start, group_by)) // width + 1


def seconds(range_: tuple[int, int]) -> tuple[int, int]:
    """A range in microseconds as whole seconds that overlap the same buckets: the start rounded
    down, the end up."""
    start, end = range_
    return start // 1_000_000, -(-end // 1_000_000)


def bucket_starts(start: int, end: int, group_by: GroupBy) -> list[int]:
    """Every bucket that overlaps ``[start, end)``, in order (the empty ones too)."""
    out = []
    b = bucket_of(start, group_by)
    while b < end:
        out.append(b)
        b = next_bucket(b, group_by)
    return out


def trend_of(values: Sequence[int]) -> Trend:
    """Up, down or flat: the least-squares slope across the series, against its mean.

    A change of less than 10% of the mean over the whole series counts as flat.
    """
    n = len(values)
    if n < 2:
        return "flat"
    mean = sum(values) / n
    if mean == 0:
        return "flat"
    mid = (n - 1) / 2
    slope = sum((i - mid) * (v - mean) for i, v in enumerate(values)) / sum(
        (i - mid) ** 2 for i in range(n)
    )
    relative = slope * (n - 1) / mean
    if relative > 0.1:
        return "up"
    if relative < -0.1:
        return "down"
    return "flat"
