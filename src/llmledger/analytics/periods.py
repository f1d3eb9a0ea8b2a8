"""The ranges a question is asked over, in whole hours (seconds since the epoch, UTC)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from llmledger.analytics.window import ceil_hour_us, day_start, iso_s, month_start
from llmledger.store.rows import to_us

Range = tuple[int, int]


def previous(current: Range) -> Range:
    """The equal-length range just before ``current``."""
    start, end = current
    return start - (end - start), start


def month_to_date(now: dt.datetime) -> Range:
    return to_us(month_start(now)) // 1_000_000, ceil_hour_us(to_us(now) + 1)


def today(now: dt.datetime) -> Range:
    return to_us(day_start(now)) // 1_000_000, ceil_hour_us(to_us(now) + 1)


def range_json(range_: Range) -> dict[str, Any]:
    return {"startDate": iso_s(range_[0]), "endDate": iso_s(range_[1])}
