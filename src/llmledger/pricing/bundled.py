"""The bundled catalog: genai-prices' data compiled into price rows (one per dated price).

Time-of-day prices (DeepSeek's off-peak hours) become daily windows on the rows they override:
genai-prices lets the last active price of a model's list win, so a window applies to the dated
prices listed before it. Variants (batch, flex, priority) are not modelled: the base price is
used.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from genai_prices import data as genai_data
from genai_prices import types as gt

from llmledger.pricing.rows import EPOCH, PriceRow, PriceTier, PriceWindow

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


def _second(t: dt.time) -> int:
    """A time of day as seconds after UTC midnight."""
    offset = t.utcoffset() or dt.timedelta()
    return int(t.hour * 3600 + t.minute * 60 + t.second - offset.total_seconds()) % 86400


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def bundled_rows() -> list[PriceRow]:
    """Every text-token price in the pinned genai-prices data."""
    return rows_from_providers(genai_data.providers)


def rows_from_genai_json(raw: Any) -> list[PriceRow]:
    """Rows from genai-prices' published ``data.json`` (a list of providers), parsed with the
    pinned package's own schema so both read it the same way."""
    parse = getattr(gt, "_providers_from_raw", None)
    if parse is None or not isinstance(raw, list):
        raise ValueError("not genai-prices data: expected its data.json (a list of providers)")
    try:
        providers = parse(raw)
    except Exception as exc:  # pydantic's ValidationError, or the schema moved on
        raise ValueError(f"genai-prices data does not match the pinned schema: {exc}") from None
    return rows_from_providers(providers)


def rows_from_providers(providers: Any) -> list[PriceRow]:
    rows: list[PriceRow] = []
    for provider in providers:
        for model in provider.models:
            match = match_to_data(model.match)
            listed = model.prices if isinstance(model.prices, list) else [None]
            dated, daily = [], []
            for j, cp in enumerate(listed):
                if cp is None:
                    dated.append((EPOCH, j, model.prices))
                elif isinstance(cp.constraint, gt.TimeOfDateConstraint):
                    daily.append((j, cp.constraint, cp.prices))
                else:
                    start = EPOCH if cp.constraint is None else _at(cp.constraint.start_date)
                    dated.append((start, j, cp.prices))
            dated.sort(key=lambda d: (d[0], d[1]))
            for i, (start, j, mp) in enumerate(dated):
                base, tiers, per_request = _prices(mp)
                windows = tuple(
                    PriceWindow(_second(c.start_time), _second(c.end_time), _prices(wp)[0])
                    for k, c, wp in daily
                    if k > j
                )
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
                        windows=windows,
                    )
                )
    return rows
