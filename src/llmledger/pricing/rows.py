"""Price rows: effective-dated $/1M-token prices for one (provider, model), compiled to integers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llmledger.money import per_million_to_picos_per_token

#: token classes in the order the compiled form keeps them
CLASSES = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "input_audio",
    "output_audio",
)
SOURCES = ("bundled", "litellm", "manual", "fallback")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class PriceTier:
    """Prices that replace the row's for a whole request whose input exceeds the threshold."""

    above_input_tokens: int
    prices: dict[str, Decimal]


@dataclass(frozen=True)
class PriceRow:
    provider: str
    model: str
    prices: dict[str, Decimal]
    effective_from: dt.datetime = EPOCH
    effective_to: dt.datetime | None = None
    source: str = "bundled"
    id: int | None = None
    aliases: tuple[str, ...] = ()
    match: Any = None
    per_request: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()
    notes: str | None = None
    compiled: CompiledPrice = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", compile_row(self))

    def price(self, cls: str) -> Decimal | None:
        return self.prices.get(cls)


def _effective(prices: dict[str, Decimal], cls: str) -> Decimal:
    """The price a class is billed at, falling back the way providers bill absent classes."""
    p = prices.get(cls)
    if p is not None:
        return p
    if cls == "cache_write_1h":
        return _effective(prices, "cache_write_5m")
    if cls in ("cache_read", "cache_write_5m", "input_audio"):
        return prices.get("input") or Decimal(0)
    if cls in ("reasoning", "output_audio"):
        return prices.get("output") or Decimal(0)
    return Decimal(0)


@dataclass(frozen=True, slots=True)
class CompiledPrice:
    """Integer pico-dollars per token for each class, base and per tier (highest first)."""

    base: tuple[int, ...]
    tiers: tuple[tuple[int, tuple[int, ...]], ...]
    per_request_picos: int


def _picos(prices: dict[str, Decimal]) -> tuple[int, ...]:
    return tuple(per_million_to_picos_per_token(_effective(prices, c)) for c in CLASSES)


def compile_row(row: PriceRow) -> CompiledPrice:
    tiers = tuple(
        (t.above_input_tokens, _picos({**row.prices, **t.prices}))
        for t in sorted(row.tiers, key=lambda t: t.above_input_tokens, reverse=True)
    )
    per_request = int((row.per_request or Decimal(0)) * 10**12)
    return CompiledPrice(_picos(row.prices), tiers, per_request)
