"""Pricing one event: provider-reported cost, else the catalog row in force, else the fallback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import attrgetter
from typing import Protocol

from llmledger.events import UsageEvent
from llmledger.money import picos_to_nanos
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import CompiledPrice


@dataclass(frozen=True, slots=True)
class PricedCost:
    cost_nanos: int
    cost_source: str  # provider | override | catalog | fallback
    price_id: int | None


class Usage(Protocol):
    """Token counts as ``UsageEvent`` has them (OTel rule: cache parts are inside input)."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_5m_tokens(self) -> int: ...
    @property
    def cache_write_1h_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...
    @property
    def input_audio_tokens(self) -> int: ...
    @property
    def output_audio_tokens(self) -> int: ...
    @property
    def requests(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StoredUsage:
    """Usage read back from a stored event (repricing)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    requests: int = 1


_COUNTS = attrgetter(
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "requests",
)


def cost_picos(c: CompiledPrice, e: Usage) -> int:
    """Exact pico-dollars of one event under a compiled price (OTel token rule).

    A tier replaces every rate of the whole request once its total input passes the threshold
    (cliff pricing, as the providers bill it).
    """
    inp, out, cr, cw5, cw1, rs, ia, oa, requests = _COUNTS(e)
    p = c.base
    for threshold, tier in c.tiers:
        if inp > threshold:
            p = tier
            break
    text_in = inp - cr - cw5 - cw1 - ia
    text_out = out - rs - oa
    picos = (text_in if text_in > 0 else 0) * p[0] + (text_out if text_out > 0 else 0) * p[1]
    if cr:
        picos += cr * p[2]
    if cw5:
        picos += cw5 * p[3]
    if cw1:
        picos += cw1 * p[4]
    if rs:
        picos += rs * p[5]
    if ia:
        picos += ia * p[6]
    if oa:
        picos += oa * p[7]
    return picos + requests * c.per_request_picos


class Pricer:
    """Prices events against one immutable ``PriceBook``."""

    def __init__(self, book: PriceBook) -> None:
        self.book = book

    def price(self, event: UsageEvent) -> PricedCost:
        return self.price_usage(
            event.provider, event.model, event.timestamp, event, reported_nanos=event.cost_nanos
        )

    def price_usage(
        self,
        provider: str,
        model: str,
        at: dt.datetime,
        usage: Usage,
        *,
        reported_nanos: int | None = None,
    ) -> PricedCost:
        """The cost of ``usage`` of (provider, model) at ``at``; a reported cost is kept as is
        (and the row in force is still named, so the figure can be compared)."""
        timeline = self.book.timeline(provider, model)
        row = None if timeline is None else timeline.at(at)
        if reported_nanos is not None:
            return PricedCost(reported_nanos, "provider", None if row is None else row.id)
        if row is None:
            row = self.book.fallback_at(at)
            source = "fallback"
        else:
            source = "override" if row.source == "manual" else "catalog"
        compiled = row.compiled
        if compiled.windows:
            compiled = compiled.at_time(at)
        return PricedCost(picos_to_nanos(cost_picos(compiled, usage)), source, row.id)
