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
class PriceWindow:
    """Prices that replace the row's during a daily UTC window (off-peak pricing):
    ``start_s <= time of day < end_s`` in seconds, wrapping past midnight when end < start."""

    start_s: int
    end_s: int
    prices: dict[str, Decimal]

    def covers(self, second_of_day: float) -> bool:
        if self.end_s < self.start_s:
            return second_of_day >= self.start_s or second_of_day < self.end_s
        return self.start_s <= second_of_day < self.end_s


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
    windows: tuple[PriceWindow, ...] = ()
    changed_by: str | None = field(default=None, compare=False)
    changed_at: dt.datetime | None = field(default=None, compare=False)
    compiled: CompiledPrice = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", compile_row(self))

    @property
    def key(self) -> tuple[str, str]:
        """The catalog entry this row belongs to: rows of one key form its history."""
        return (self.provider.lower(), self.model.lower())

    def price(self, cls: str) -> Decimal | None:
        return self.prices.get(cls)

    def same_prices(self, other: PriceRow) -> bool:
        """Whether ``other`` bills exactly like this row (what a sync compares)."""
        return (
            _norm(self.prices) == _norm(other.prices)
            and (self.per_request or 0) == (other.per_request or 0)
            and _norm_tiers(self.tiers) == _norm_tiers(other.tiers)
            and [(w.start_s, w.end_s, _norm(w.prices)) for w in self.windows]
            == [(w.start_s, w.end_s, _norm(w.prices)) for w in other.windows]
        )


def _norm(prices: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: v for k, v in prices.items() if v is not None}


def _norm_tiers(tiers: tuple[PriceTier, ...]) -> list[tuple[int, dict[str, Decimal]]]:
    return sorted(((t.above_input_tokens, _norm(t.prices)) for t in tiers), key=lambda t: t[0])


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
    """Integer pico-dollars per token for each class, base and per tier (highest first), and
    the prices of daily windows (rare: only then does pricing look at the time of day)."""

    base: tuple[int, ...]
    tiers: tuple[tuple[int, tuple[int, ...]], ...]
    per_request_picos: int
    windows: tuple[tuple[PriceWindow, CompiledPrice], ...] = ()

    def at_time(self, moment: dt.datetime) -> CompiledPrice:
        """The prices in force at ``moment``'s UTC time of day (the last window covering it)."""
        utc = moment.astimezone(dt.UTC)
        second = utc.hour * 3600 + utc.minute * 60 + utc.second + utc.microsecond / 1e6
        found = self
        for window, compiled in self.windows:
            if window.covers(second):
                found = compiled
        return found


_PICOS: dict[Decimal, int] = {}


def _picos(prices: dict[str, Decimal]) -> tuple[int, ...]:
    out = []
    for c in CLASSES:
        price = _effective(prices, c)
        picos = _PICOS.get(price)
        if picos is None:
            # a few hundred distinct prices recur across thousands of rows and every reload
            if len(_PICOS) >= 100_000:
                _PICOS.clear()
            picos = _PICOS[price] = per_million_to_picos_per_token(price)
        out.append(picos)
    return tuple(out)


def compile_row(row: PriceRow) -> CompiledPrice:
    tiers = tuple(
        (t.above_input_tokens, _picos({**row.prices, **t.prices}))
        for t in sorted(row.tiers, key=lambda t: t.above_input_tokens, reverse=True)
    )
    per_request = int((row.per_request or Decimal(0)) * 10**12)
    windows = tuple((w, CompiledPrice(_picos(w.prices), (), per_request)) for w in row.windows)
    return CompiledPrice(_picos(row.prices), tiers, per_request, windows)
