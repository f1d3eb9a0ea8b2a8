"""The bundled catalog: genai-prices' data compiled into price rows (one per dated price).

Time-of-day prices (off-peak windows) and variants (batch, flex, priority) are not modelled yet:
the base price is used.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from genai_prices import data as genai_data
from genai_prices import types as gt

from llmledger.pricing.rows import EPOCH, PriceRow, PriceTier

#: genai-prices price keys → our token classes ($/1M tokens)
_KEYS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_reasoning_mtok": "reasoning",
    "input_audio_mtok": "input_audio",
    "output_audio_mtok": "output_audio",
}


def match_to_data(clause: Any) -> dict[str, Any]:
    """A genai-prices match clause as plain JSON-able data."""
    for attr, kind in (
        ("equals", "equals"),
        ("starts_with", "starts_with"),
        ("ends_with", "ends_with"),
        ("contains", "contains"),
        ("regex", "regex"),
    ):
        value = getattr(clause, attr, None)
        if isinstance(value, str):
            return {kind: value}
    if getattr(clause, "or_", None) is not None:
        return {"or": [match_to_data(c) for c in clause.or_]}
    if getattr(clause, "and_", None) is not None:
        return {"and": [match_to_data(c) for c in clause.and_]}
    raise ValueError(f"unknown genai-prices match clause {clause!r}")


def _prices(mp: Any) -> tuple[dict[str, Decimal], tuple[PriceTier, ...], Decimal | None]:
    base: dict[str, Decimal] = {}
    tier_prices: dict[int, dict[str, Decimal]] = {}
    for key, cls in _KEYS.items():
        value = getattr(mp, key, None)
        if value is None:
            continue
        if isinstance(value, gt.TieredPrices):
            base[cls] = value.base
            for tier in value.tiers:
                tier_prices.setdefault(tier.start, {})[cls] = tier.price
        else:
            base[cls] = Decimal(value)
    tiers = tuple(PriceTier(start, prices) for start, prices in sorted(tier_prices.items()))
    per_k = getattr(mp, "requests_kcount", None)
    per_request = Decimal(per_k) / 1000 if per_k is not None else None
    return base, tiers, per_request


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def bundled_rows() -> list[PriceRow]:
    """Every text-token price in the pinned genai-prices data."""
    rows: list[PriceRow] = []
    for provider in genai_data.providers:
        for model in provider.models:
            match = match_to_data(model.match)
            if isinstance(model.prices, list):
                dated = [
                    (EPOCH if cp.constraint is None else _at(cp.constraint.start_date), cp.prices)
                    for cp in model.prices
                    if not isinstance(cp.constraint, gt.TimeOfDateConstraint)
                ]
            else:
                dated = [(EPOCH, model.prices)]
            dated.sort(key=lambda d: d[0])
            for i, (start, mp) in enumerate(dated):
                base, tiers, per_request = _prices(mp)
                if not base and per_request is None:
                    continue  # priced in units we do not record (images, seconds, pages)
                end = dated[i + 1][0] if i + 1 < len(dated) else None
                rows.append(
                    PriceRow(
                        provider=provider.id,
                        model=model.id,
                        prices=base,
                        effective_from=start,
                        effective_to=end,
                        source="bundled",
                        match=match,
                        per_request=per_request,
                        tiers=tiers,
                        notes=model.name,
                    )
                )
    return rows
