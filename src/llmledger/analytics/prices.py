"""Pricing questions answered from rollup token sums and the price book, never from raw events.

Token sums of a (bucket, provider, model) rollup row are priced with the price row in force at
the bucket's start (a UTC day, or an hour at the range's edges). Prices are linear in every token
class, so pricing a sum equals summing per-event prices, except for tiers above a context
threshold: a rollup does not know each request's input size, so the base rates apply.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from llmledger.analytics import periods
from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import change_percent, usd
from llmledger.analytics.overview import CacheSavings
from llmledger.analytics.source import aggregate, kind_of
from llmledger.analytics.window import DAY_S, Window, iso_s
from llmledger.events import TOKEN_FIELDS
from llmledger.money import picos_to_nanos
from llmledger.pricing.cost import Pricer
from llmledger.pricing.infer import infer_provider
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import CompiledPrice, PriceRow
from llmledger.store.rows import from_us

_INPUT, _CACHE_READ = 0, 2


def cache_savings_for(pricer: Pricer) -> CacheSavings:
    """What cache reads saved against the full input price, for rows of (bucket, provider,
    model) with ``cache_read_tokens``. Models priced by the fallback (no discount) save 0."""
    book = pricer.book

    def savings(rows: Iterable[dict[str, Any]]) -> int:
        picos = 0
        for r in rows:
            cached = r["cache_read_tokens"]
            if not cached:
                continue
            row = book.price_in_force(r["provider"], r["model"], from_us(r["bucket"] * 10**6))
            if row is not None:
                base = row.compiled.base
                picos += cached * max(base[_INPUT] - base[_CACHE_READ], 0)
        return picos_to_nanos(picos)

    return savings


def sum_picos(c: CompiledPrice, sums: dict[str, int]) -> int:
    """Exact pico-dollars of summed usage under a compiled price (OTel token rule, base rates)."""
    p = c.base
    cached = (
        sums["cache_read_tokens"] + sums["cache_write_5m_tokens"] + sums["cache_write_1h_tokens"]
    )
    text_in = max(0, sums["input_tokens"] - cached - sums["input_audio_tokens"])
    text_out = max(
        0, sums["output_tokens"] - sums["reasoning_tokens"] - sums["output_audio_tokens"]
    )
    return (
        text_in * p[0]
        + text_out * p[1]
        + sums["cache_read_tokens"] * p[2]
        + sums["cache_write_5m_tokens"] * p[3]
        + sums["cache_write_1h_tokens"] * p[4]
        + sums["reasoning_tokens"] * p[5]
        + sums["input_audio_tokens"] * p[6]
        + sums["output_audio_tokens"] * p[7]
        + sums["requests"] * c.per_request_picos
    )


def _target(book: PriceBook, model: str, provider: str | None) -> tuple[str, list[PriceRow]]:
    """The provider and price history of the model to price at; a 422 naming the parameter
    when it is unknown or ambiguous."""
    name = model.strip()
    candidates = [provider] if provider else []
    if not provider:
        inferred = infer_provider(name)
        candidates = [inferred] if inferred else []
        owners = sorted({r.provider for r in book.rows if r.model.lower() == name.lower()})
        if len(owners) > 1 and not inferred:
            raise ParamError("asProvider", f"{name!r} is sold by {', '.join(owners)}: pick one")
        candidates += owners
    for p in candidates:
        history = book.history(p, name)
        if history:
            return p, history
    raise ParamError("asModel", f"no price is known for {name!r}")


def what_if(
    conn: Connection,
    *,
    window: Window,
    filters: Filters,
    pricer: Pricer,
    as_model: str,
    as_provider: str | None = None,
) -> dict[str, Any]:
    book = pricer.book
    provider, history = _target(
        book, as_model, as_provider.strip().lower() if as_provider else None
    )
    dims, measures = ("bucket",), ("requests", *TOKEN_FIELDS, "cost_nanos")
    current = periods.count(window, kind_of(filters, dims, measures))
    rows, kind = aggregate(
        conn, [current], filters, dims=dims, measures=measures, raw_from_us=window.raw_from_us
    )
    actual: dict[int, int] = defaultdict(int)
    priced: dict[int, int] = defaultdict(int)
    for r in rows:
        day = r["bucket"] - r["bucket"] % DAY_S
        at = from_us(r["bucket"] * 10**6)
        # before the model's first known price, its earliest one
        row = book.price_in_force(provider, as_model.strip(), at) or history[0]
        actual[day] += r["cost_nanos"]
        priced[day] += picos_to_nanos(sum_picos(row.compiled, r))
    spent, would = sum(actual.values()), sum(priced.values())
    first = history[0]
    return {
        **periods.window_json(window, current, kind),
        "model": filters.model,
        "asProvider": first.provider,
        "asModel": first.model,
        "actualCostUsd": usd(spent),
        "asModelCostUsd": usd(would),
        "differenceUsd": usd(would - spent),
        "differencePercent": change_percent(would, spent),
        "days": [
            {
                "date": iso_s(day)[:10],
                "actualCostUsd": usd(actual[day]),
                "asModelCostUsd": usd(priced[day]),
            }
            for day in sorted(actual)
        ],
        "answeredFrom": kind,
    }
