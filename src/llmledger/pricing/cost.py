"""Pricing one event: provider-reported cost, else the catalog row in force, else the fallback."""

from __future__ import annotations

from dataclasses import dataclass

from llmledger.events import UsageEvent
from llmledger.money import picos_to_nanos
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import CompiledPrice


@dataclass(frozen=True, slots=True)
class PricedCost:
    cost_nanos: int
    cost_source: str  # provider | override | catalog | fallback
    price_id: int | None


def cost_picos(c: CompiledPrice, e: UsageEvent) -> int:
    """Exact pico-dollars of one event under a compiled price (OTel token rule)."""
    p = c.base
    for threshold, tier in c.tiers:
        if e.input_tokens > threshold:
            p = tier
            break
    cached = e.cache_read_tokens + e.cache_write_5m_tokens + e.cache_write_1h_tokens
    text_in = max(0, e.input_tokens - cached - e.input_audio_tokens)
    text_out = max(0, e.output_tokens - e.reasoning_tokens - e.output_audio_tokens)
    return (
        text_in * p[0]
        + text_out * p[1]
        + e.cache_read_tokens * p[2]
        + e.cache_write_5m_tokens * p[3]
        + e.cache_write_1h_tokens * p[4]
        + e.reasoning_tokens * p[5]
        + e.input_audio_tokens * p[6]
        + e.output_audio_tokens * p[7]
        + e.requests * c.per_request_picos
    )


class Pricer:
    """Prices events against one immutable ``PriceBook``."""

    def __init__(self, book: PriceBook) -> None:
        self.book = book

    def price(self, event: UsageEvent) -> PricedCost:
        row = self.book.price_in_force(event.provider, event.model, event.timestamp)
        if event.cost_usd is not None:
            nanos = event.cost_nanos
            assert nanos is not None
            return PricedCost(nanos, "provider", row.id if row is not None else None)
        if row is None:
            row = self.book.fallback_at(event.timestamp)
            source = "fallback"
        else:
            source = "override" if row.source == "manual" else "catalog"
        return PricedCost(picos_to_nanos(cost_picos(row.compiled, event)), source, row.id)
