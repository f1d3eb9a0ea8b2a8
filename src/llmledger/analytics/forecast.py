"""Projected spend: recent trend times weekly rhythm, with an uncertainty band.

The history (default: the last 8 complete UTC weeks, from ``rollup_day``) is divided by a
weekday factor (each weekday's mean over the overall mean, when there are at least two weeks),
a straight line is fitted to what remains, and each future day is that line times its weekday
factor. The band is ±1.28 residual standard deviations (about 80% for normal errors), widened
with the square root of the number of days summed for the month-end figure. Budgets belong to
the alerts: ``budget`` is ``null`` here, and the server fills it in
(``alerts.forecast_budget``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import usd
from llmledger.analytics.source import aggregate
from llmledger.analytics.spans import US, Range
from llmledger.analytics.window import DAY_S, Window, day_start, iso_s, month_start
from llmledger.store.rows import to_us

HISTORY_DAYS = 56
Z = 1.28


def default_history(now: dt.datetime) -> Window:
    end = to_us(day_start(now))
    return Window(end - HISTORY_DAYS * DAY_S * 1_000_000, end)


def _weekday(day: int) -> int:
    return (day // DAY_S + 3) % 7


def _fit(days: Sequence[int], costs: Sequence[float]) -> tuple[list[float], float, float, float]:
    """Weekday factors, the line's intercept and slope (per day index), residual deviation."""
    n = len(costs)
    mean = sum(costs) / n if n else 0.0
    factors = [1.0] * 7
    if n >= 14 and mean > 0:
        for w in range(7):
            own = [c for d, c in zip(days, costs, strict=True) if _weekday(d) == w]
            if own:
                factors[w] = max(sum(own) / len(own) / mean, 0.0)
        scale = sum(factors) / 7
        factors = [f / scale for f in factors] if scale else [1.0] * 7
    flat = [
        c / factors[_weekday(d)] if factors[_weekday(d)] else 0.0
        for d, c in zip(days, costs, strict=True)
    ]
    if n < 2:
        return factors, mean, 0.0, 0.0
    mid = (n - 1) / 2
    level = sum(flat) / n
    slope = sum((i - mid) * (v - level) for i, v in enumerate(flat)) / sum(
        (i - mid) ** 2 for i in range(n)
    )
    intercept = level - slope * mid
    residuals = [
        c - (intercept + slope * i) * factors[_weekday(d)]
        for i, (d, c) in enumerate(zip(days, costs, strict=True))
    ]
    sigma = math.sqrt(sum(r * r for r in residuals) / max(n - 2, 1))
    return factors, intercept, slope, sigma


def forecast(
    conn: Connection,
    *,
    history: Window,
    filters: Filters,
    now: dt.datetime,
    horizon_days: int = 30,
) -> dict[str, Any]:
    start = history.start_us // 1_000_000 // DAY_S * DAY_S
    end = -(-history.end_us // 1_000_000 // DAY_S) * DAY_S
    today = to_us(day_start(now)) // 1_000_000
    end = min(end, today)  # today is not over: it is not history
    start = min(start, end)
    month = to_us(month_start(now)) // 1_000_000
    # month to date and today end at now, as in /global: an event stamped later (a client's
    # clock ahead of ours) is not spent yet
    ranges: list[Range] = [(start * US, end * US), (month * US, to_us(now))]
    rows, kind = aggregate(
        conn,
        ranges,
        filters,
        dims=("bucket",),
        measures=("cost_nanos",),
        raw_from_us=history.raw_from_us,
    )
    daily: dict[int, int] = {}
    for r in rows:
        day = r["bucket"] - r["bucket"] % DAY_S
        daily[day] = daily.get(day, 0) + r["cost_nanos"]
    days = list(range(start, end, DAY_S))
    costs = [usd(daily.get(d, 0)) for d in days]
    factors, intercept, slope, sigma = _fit(days, costs)

    def projected(day: int) -> float:
        index = (day - start) // DAY_S
        return max((intercept + slope * index) * factors[_weekday(day)], 0.0)

    future = [today + i * DAY_S for i in range(horizon_days)]
    spent_today = usd(daily.get(today, 0))
    month_to_date = usd(sum(v for d, v in daily.items() if month <= d <= today))
    next_month = int(
        (month_start(now).replace(day=28) + dt.timedelta(days=4)).replace(day=1).timestamp()
    )
    rest = [d for d in range(today + DAY_S, next_month, DAY_S)]
    month_end = month_to_date + max(projected(today) - spent_today, 0.0)
    month_end += sum(projected(d) for d in rest)
    spread = Z * sigma * math.sqrt(len(rest) + 1)
    return {
        "historyStartDate": iso_s(start),
        "historyEndDate": iso_s(end),
        "history": [
            {"date": iso_s(d)[:10], "costUsd": c} for d, c in zip(days, costs, strict=True)
        ],
        "days": [
            {
                "date": iso_s(d)[:10],
                "costUsd": round(projected(d), 9),
                "lowUsd": round(max(projected(d) - Z * sigma, 0.0), 9),
                "highUsd": round(projected(d) + Z * sigma, 9),
            }
            for d in future
        ],
        "weekdayFactors": [round(f, 4) for f in factors],
        "trendUsdPerDay": round(slope, 9),
        "monthToDateCostUsd": month_to_date,
        "todayCostUsd": spent_today,
        "projectedMonthEndUsd": round(month_end, 9),
        "projectedMonthEndLowUsd": round(max(month_end - spread, month_to_date), 9),
        "projectedMonthEndHighUsd": round(month_end + spread, 9),
        "budget": None,
        "answeredFrom": kind,
    }


def projection(daily: Mapping[int, int], start: int, end: int) -> Callable[[int], float]:
    """The forecast's model fitted to the costs (nano-dollars by UTC day start, in seconds) of
    the whole days ``[start, end)``: the projected cost in USD of any day (used by the
    ``forecast_overrun`` alerts)."""
    days = list(range(start, end, DAY_S))
    costs = [usd(daily.get(d, 0)) for d in days]
    factors, intercept, slope, _ = _fit(days, costs)

    def projected(day: int) -> float:
        index = (day - start) // DAY_S
        return max((intercept + slope * index) * factors[_weekday(day)], 0.0)

    return projected
