"""What the providers billed (``provider_costs``), by project or workspace or by line item,
per day, ISO week, month or year, and each provider's billed total for a range with the days
no report was imported for: the figure set beside tracked spend.

Money is summed as integer nano-dollars and turned into dollars once, at the end. A period
at an edge of the range counts only the range's days of it (its ``startDate`` and
``endDate`` say which). Groq reports no cost: its billed figures are llmledger's estimates
(``billedIsEstimate``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from llmledger.analytics.measures import usd
from llmledger.providers.reconcile import ESTIMATED, RECONCILED, coverage_of, imported_days
from llmledger.providers.report import DAY_S
from llmledger.providers.tables import provider_costs

BillingGroup = Literal["project", "line_item"]
Granularity = Literal["day", "week", "month", "year"]
BILLING_GROUPS: tuple[BillingGroup, ...] = ("project", "line_item")
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month", "year")
#: the answer's name of each grouping's key column
KEY_FIELD: dict[BillingGroup, str] = {"project": "project", "line_item": "lineItem"}


def _date(day: int) -> dt.date:
    return dt.datetime.fromtimestamp(day, dt.UTC).date()


def period_of(day: dt.date, granularity: Granularity) -> tuple[str, dt.date, dt.date]:
    """The period holding ``day``: its label (``2026-12-07``, ``2026-W50``, ``2026-12``,
    ``2026``), its first and its last day."""
    if granularity == "day":
        return day.isoformat(), day, day
    if granularity == "week":  # ISO weeks: Monday to Sunday
        year, week, weekday = day.isocalendar()
        first = day - dt.timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", first, first + dt.timedelta(days=6)
    if granularity == "month":
        first = day.replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
        return day.strftime("%Y-%m"), first, after - dt.timedelta(days=1)
    first = day.replace(month=1, day=1)
    return str(day.year), first, day.replace(month=12, day=31)


def billed_totals(
    conn: Connection, *, start_day: int, end_day: int, providers: Iterable[str] = RECONCILED
) -> list[dict[str, Any]]:
    """Each provider's billed cost for ``[start_day, end_day)`` (whole UTC days, every line
    item: the invoice's figure) and the days of the range no report was imported for."""
    c = provider_costs.c
    sums = dict(
        conn.execute(
            select(c.provider, func.sum(c.cost_nanos))
            .where(c.day >= start_day, c.day < end_day)
            .group_by(c.provider)
        ).all()
    )
    out = []
    for provider in providers:
        days = imported_days(conn, provider, start_day, end_day)
        out.append(
            {
                **coverage_of(provider, days, start_day, end_day),
                "costUsd": usd(int(sums.get(provider) or 0)),
                "billedIsEstimate": provider in ESTIMATED,
            }
        )
    return out


def billing(
    conn: Connection,
    *,
    start_day: int,
    end_day: int,
    group_by: BillingGroup,
    granularity: Granularity,
    providers: Iterable[str] = RECONCILED,
) -> dict[str, Any]:
    """Billed cost for ``[start_day, end_day)`` (Unix seconds, whole UTC days) per period,
    provider and project or line item; rows by period, then largest first."""
    providers = list(providers)
    c = provider_costs.c
    key_col = c.project if group_by == "project" else c.line_item
    q = (
        select(c.provider, c.day, key_col, func.sum(c.cost_nanos))
        .where(c.provider.in_(providers), c.day >= start_day, c.day < end_day)
        .group_by(c.provider, c.day, key_col)
    )
    first, last = _date(start_day), _date(end_day - DAY_S)
    cells: dict[tuple[str, str, str], int] = defaultdict(int)
    spans: dict[str, tuple[dt.date, dt.date]] = {}
    per_key: dict[tuple[str, str], int] = defaultdict(int)
    per_period: dict[str, int] = defaultdict(int)
    for provider, day, key, nanos in conn.execute(q):
        label, _, _ = period_of(_date(int(day)), granularity)
        cells[(label, provider, key)] += int(nanos)
        per_key[(provider, key)] += int(nanos)
        per_period[label] += int(nanos)
    # every period of the range, spent in or not, so a chart's gaps are days of no spend
    day = first
    while day <= last:
        label, p_first, p_last = period_of(day, granularity)
        spans[label] = (max(p_first, first), min(p_last, last))
        day = p_last + dt.timedelta(days=1)
    field = KEY_FIELD[group_by]
    rows = [
        {
            "provider": provider,
            "period": label,
            "startDate": spans[label][0].isoformat(),
            "endDate": spans[label][1].isoformat(),
            field: key,
            "costUsd": usd(nanos),
            "billedIsEstimate": provider in ESTIMATED,
        }
        for (label, provider, key), nanos in sorted(
            cells.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1], kv[0][2])
        )
    ]
    keys = [
        {
            "provider": provider,
            field: key,
            "costUsd": usd(nanos),
            "billedIsEstimate": provider in ESTIMATED,
        }
        for (provider, key), nanos in sorted(per_key.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    periods = [
        {
            "period": label,
            "startDate": span[0].isoformat(),
            "endDate": span[1].isoformat(),
            "costUsd": usd(per_period.get(label, 0)),
        }
        for label, span in spans.items()
    ]
    return {
        "startDate": first.isoformat(),
        "endDate": last.isoformat(),
        "groupBy": group_by,
        "granularity": granularity,
        "costUsd": usd(sum(per_key.values())),
        "totals": billed_totals(conn, start_day=start_day, end_day=end_day, providers=providers),
        "periods": periods,
        "keys": keys,
        "rows": rows,
    }
