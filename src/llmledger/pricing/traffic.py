"""What stored traffic says about prices: models priced by the fallback, and the events a new
price would re-price."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, func, select, tuple_

from llmledger.money import nanos_to_str
from llmledger.pricing.convert import iso
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import PriceRow
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.rows import from_us, to_us

log = logging.getLogger(__name__)


def unpriced(
    conn: Connection,
    book: PriceBook,
    *,
    org_id: str | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Models that fell back to the fallback price, with requests and spend, last seen first
    (from the narrow rollups, so it covers all time, not only retained raw events)."""
    d = open_days.model_days().c
    last = func.max(d.bucket)
    q = (
        select(
            d.provider,
            d.model,
            func.sum(d.fallback_requests),
            func.sum(d.fallback_cost_nanos),
            func.min(d.bucket),
            last,
        )
        .where(d.fallback_requests > 0)
        .group_by(d.provider, d.model)
        .order_by(last.desc(), func.sum(d.fallback_cost_nanos).desc(), d.provider, d.model)
    )
    if org_id is not None:
        q = q.where(d.org_id == org_id)
    if start_us is not None:
        q = q.where(d.bucket >= start_us // 1_000_000 // 86400 * 86400)
    if end_us is not None:
        q = q.where(d.bucket < end_us // 1_000_000)
    rows = conn.execute(q).all()
    models = []
    for provider, model, requests, cost, first, newest in rows[offset : offset + limit]:
        found = book.resolve(provider, model)
        models.append(
            {
                "provider": provider,
                "model": model,
                "requests": int(requests),
                "spendUsd": nanos_to_str(int(cost)),
                "firstSeen": _day(first, f"{provider}/{model}"),
                "lastSeen": _day(newest, f"{provider}/{model}"),
                "pricedNow": found is not None,
            }
        )
    more = offset + limit < len(rows)
    return {"models": models, "total": len(rows), "nextOffset": offset + limit if more else None}


def _day(bucket_s: Any, model: str) -> str | None:
    """The bucket's day; ``None`` for a day no ``datetime`` holds (a stored timestamp before
    year 1 or after 9999, which ingest refuses today)."""
    instant = _instant(int(bucket_s) * 1_000_000, model)
    return None if instant is None else instant[:10]


def _instant(us: int, model: str) -> str | None:
    try:
        return iso(from_us(us))
    except OverflowError:
        log.warning("%s: a stored timestamp (%d µs) cannot be shown", model, us)
        return None


def names_priced_by(conn: Connection, book: PriceBook, row: PriceRow) -> list[tuple[str, str]]:
    """The (provider, model) names in traffic that ``row``'s entry can price."""
    d = open_days.model_days().c
    names = conn.execute(select(d.provider, d.model).distinct()).all()
    return [(p, m) for p, m in names if row.key in book.candidates(p, m)]


def reprice_suggestion(conn: Connection, book: PriceBook, row: PriceRow) -> dict[str, Any] | None:
    """The stored events a new row would re-price: those of its model from its start on (not
    provider-priced), and fallback-priced ones from before it (which only a back-dated price
    covers). ``None`` when there are none."""
    names = names_priced_by(conn, book, row)
    if not names:
        return None
    e = t.events.c
    start_us = to_us(row.effective_from)
    end_us = None if row.effective_to is None else to_us(row.effective_to)
    in_names = tuple_(e.provider, e.model).in_(names)
    covered = select(func.count(), func.min(e.ts_us)).where(
        in_names, e.ts_us >= start_us, e.cost_source != "provider"
    )
    if end_us is not None:
        covered = covered.where(e.ts_us < end_us)
    count, since = conn.execute(covered).one()
    before = select(func.count(), func.min(e.ts_us)).where(
        in_names, e.ts_us < start_us, e.cost_source == "fallback"
    )
    older, first_fallback = conn.execute(before).one()
    if not count and not older:
        return None
    answer: dict[str, Any] = {
        "provider": row.provider,
        "model": row.model,
        "events": int(count),
        "since": None if since is None else _instant(int(since), f"{row.provider}/{row.model}"),
        "fallbackEventsBefore": int(older),
    }
    if older:
        first = _instant(int(first_fallback), f"{row.provider}/{row.model}") or "long ago"
        answer["hint"] = (
            f"{older} earlier events of this model were priced with the fallback since "
            f"{first}; give the price an effectiveFrom at or before then to re-price them too"
        )
    return answer
