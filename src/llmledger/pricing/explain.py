"""Why a call cost what it did: one event's cost under a price row, line by line.

The lines are the terms of ``cost.cost_picos`` (same token rule, same tier cliff, same daily
window), each with its token count, the rate it was billed at and its exact pico-dollars; their
sum, rounded once to nano-dollars, is the event's cost. A rate a row does not name is billed the
way the providers bill it, and the line says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from llmledger.money import picos_to_nanos
from llmledger.pricing.cost import Usage
from llmledger.pricing.rows import CLASSES, CompiledPrice, PriceRow, PriceTier, PriceWindow

#: how each line is named, in the order the lines come
LABELS = {
    "input": "Input (uncached text)",
    "cache_read": "Cache reads",
    "cache_write_5m": "Cache writes (5 min)",
    "cache_write_1h": "Cache writes (1 h)",
    "input_audio": "Input audio",
    "output": "Output (text)",
    "reasoning": "Reasoning",
    "output_audio": "Output audio",
}
#: where a class without its own price takes its rate from
_BORROWS = {
    "cache_read": "input",
    "cache_write_5m": "input",
    "input_audio": "input",
    "cache_write_1h": "cache_write_5m",
    "reasoning": "output",
    "output_audio": "output",
}
_NAMES = {"input": "input", "output": "output", "cache_write_5m": "5-minute cache write"}


@dataclass(frozen=True, slots=True)
class Line:
    token_class: str  # a price class, or "request" for the per-request fee
    label: str
    quantity: int  # tokens, or requests
    usd_per_million: Decimal  # $ per 1M tokens; $ per request for the fee
    picos: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    lines: tuple[Line, ...]
    picos: int
    tier: PriceTier | None  # the tier whose rates applied, if any
    window: PriceWindow | None  # the daily window whose rates applied, if any

    @property
    def nanos(self) -> int:
        """The cost: the exact sum rounded once to nano-dollars (half to even)."""
        return picos_to_nanos(self.picos)


def _window(c: CompiledPrice, at: dt.datetime) -> tuple[CompiledPrice, PriceWindow | None]:
    """The prices in force at ``at``'s time of day, as ``CompiledPrice.at_time`` finds them."""
    found = c.at_time(at)
    for window, compiled in c.windows:
        if compiled is found:
            return found, window
    return c, None


def _parts(usage: Usage) -> dict[str, int]:
    """Token counts per price class (OTel rule: cache parts inside input, reasoning inside
    output), as ``cost_picos`` splits them."""
    cached = usage.cache_read_tokens + usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
    return {
        "input": max(usage.input_tokens - cached - usage.input_audio_tokens, 0),
        "cache_read": usage.cache_read_tokens,
        "cache_write_5m": usage.cache_write_5m_tokens,
        "cache_write_1h": usage.cache_write_1h_tokens,
        "input_audio": usage.input_audio_tokens,
        "output": max(usage.output_tokens - usage.reasoning_tokens - usage.output_audio_tokens, 0),
        "reasoning": usage.reasoning_tokens,
        "output_audio": usage.output_audio_tokens,
    }


def _note(cls: str, named: dict[str, Decimal]) -> str | None:
    if cls in named or cls not in _BORROWS:
        return None
    source = _BORROWS[cls]
    while source not in named and source in _BORROWS:
        source = _BORROWS[source]
    return f"no rate of its own: billed at the {_NAMES.get(source, source)} price"


def explain_cost(row: PriceRow, usage: Usage, at: dt.datetime) -> Explanation:
    """The cost of ``usage`` under ``row`` at ``at``, as the lines that add up to it."""
    compiled, window = _window(row.compiled, at)
    rates = compiled.base
    tier = None
    if window is None:
        for threshold, tier_rates in compiled.tiers:
            if usage.input_tokens > threshold:
                rates = tier_rates
                tier = next(t for t in row.tiers if t.above_input_tokens == threshold)
                break
    if window is not None:
        named = window.prices
    elif tier is not None:
        named = {**row.prices, **tier.prices}
    else:
        named = row.prices
    index = {cls: i for i, cls in enumerate(CLASSES)}
    lines = []
    for cls, tokens in _parts(usage).items():
        # a class with no tokens costs nothing; input and output are always shown
        if not tokens and cls not in ("input", "output"):
            continue
        picos_per_token = rates[index[cls]]
        lines.append(
            Line(
                cls,
                LABELS[cls],
                tokens,
                Decimal(picos_per_token) / 1_000_000,
                tokens * picos_per_token,
                _note(cls, named),
            )
        )
    if compiled.per_request_picos:
        fee = compiled.per_request_picos
        lines.append(
            Line(
                "request",
                "Per-request fee",
                usage.requests,
                Decimal(fee) / 10**12,
                usage.requests * fee,
            )
        )
    return Explanation(tuple(lines), sum(line.picos for line in lines), tier, window)
