"""Price rows as the API and the CLI read and write them (camelCase, decimal strings).

``{"id", "provider", "model", "aliases", "inputPerMillion", ..., "perRequest", "tiers":
[{"aboveInputTokens", "inputPerMillion", ...}], "windows": [{"startUtc", "endUtc",
"inputPerMillion", ...}], "effectiveFrom", "effectiveTo", "source", "notes", "changedBy",
"changedAt"}``. A class that is absent reads ``null`` and is billed the way
the provider bills it: cache reads/writes and input audio at the input price, reasoning and
output audio at the output price, 1h cache writes at the 5m price.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from llmledger.pricing.rows import CLASSES, PriceRow, PriceTier, PriceWindow

#: token class → API field ($ per 1M tokens)
API_FIELDS = {
    "input": "inputPerMillion",
    "output": "outputPerMillion",
    "cache_read": "cacheReadPerMillion",
    "cache_write_5m": "cacheWrite5mPerMillion",
    "cache_write_1h": "cacheWrite1hPerMillion",
    "reasoning": "reasoningPerMillion",
    "input_audio": "inputAudioPerMillion",
    "output_audio": "outputAudioPerMillion",
}
#: the most a price may be ($ per 1M tokens, or per request): beyond it is a typo
MAX_PRICE = Decimal(1_000_000)


class PriceError(ValueError):
    """A price, tier or row that cannot be stored; the message names the field."""


def dec_str(value: Decimal | None) -> str | None:
    """A price as a plain decimal string, without exponent or trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def price_value(field: str, value: Any, *, places: int = 6) -> Decimal | None:
    """A price from a decimal string or a number (read through ``str``, so no float noise)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise PriceError(f"{field}: must be a decimal string or a number")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise PriceError(f"{field}: {value!r} is not a decimal number") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        raise PriceError(f"{field}: must be between 0 and {MAX_PRICE}")
    if -amount.normalize().as_tuple().exponent > places:  # type: ignore[operator]
        raise PriceError(f"{field}: at most {places} decimal places")
    return amount.normalize() if amount else Decimal(0)


def prices_from_api(data: dict[str, Any], where: str = "") -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for cls, name in API_FIELDS.items():
        value = price_value(f"{where}{name}", data.get(name))
        if value is not None:
            out[cls] = value
    return out


def tiers_from_api(items: list[dict[str, Any]] | None) -> tuple[PriceTier, ...]:
    tiers: list[PriceTier] = []
    seen: set[int] = set()
    for i, item in enumerate(items or ()):
        above = item.get("aboveInputTokens")
        if isinstance(above, bool) or not isinstance(above, int) or above < 0:
            raise PriceError(f"tiers.{i}.aboveInputTokens: must be a whole number >= 0")
        if above in seen:
            raise PriceError(f"tiers.{i}.aboveInputTokens: {above} appears twice")
        seen.add(above)
        prices = prices_from_api(item, f"tiers.{i}.")
        if not prices:
            raise PriceError(f"tiers.{i}: give at least one price")
        tiers.append(PriceTier(above, prices))
    return tuple(sorted(tiers, key=lambda t: t.above_input_tokens))


def _clock(second: int) -> str:
    return f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def _second(field: str, text: Any) -> int:
    try:
        t = dt.time.fromisoformat(str(text))
    except ValueError:
        raise PriceError(f"{field}: {text!r} is not a time of day (HH:MM or HH:MM:SS)") from None
    return t.hour * 3600 + t.minute * 60 + t.second


def windows_from_api(items: list[dict[str, Any]] | None) -> tuple[PriceWindow, ...]:
    windows = []
    for i, item in enumerate(items or ()):
        start = _second(f"windows.{i}.startUtc", item.get("startUtc"))
        end = _second(f"windows.{i}.endUtc", item.get("endUtc"))
        if start == end:
            raise PriceError(f"windows.{i}: startUtc and endUtc are equal")
        prices = prices_from_api(item, f"windows.{i}.")
        if not prices:
            raise PriceError(f"windows.{i}: give at least one price")
        windows.append(PriceWindow(start, end, prices))
    return tuple(windows)


def row_json(row: PriceRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "provider": row.provider,
        "model": row.model,
        "aliases": list(row.aliases),
        **{API_FIELDS[c]: dec_str(row.prices.get(c)) for c in CLASSES},
        "perRequest": dec_str(row.per_request),
        "tiers": [
            {
                "aboveInputTokens": t.above_input_tokens,
                **{API_FIELDS[c]: dec_str(t.prices.get(c)) for c in CLASSES if c in t.prices},
            }
            for t in row.tiers
        ],
        "windows": [
            {
                "startUtc": _clock(w.start_s),
                "endUtc": _clock(w.end_s),
                **{API_FIELDS[c]: dec_str(w.prices.get(c)) for c in CLASSES if c in w.prices},
            }
            for w in row.windows
        ],
        "effectiveFrom": iso(row.effective_from),
        "effectiveTo": iso(row.effective_to),
        "source": row.source,
        "notes": row.notes,
        "changedBy": row.changed_by,
        "changedAt": iso(row.changed_at),
    }


def manual_row(
    data: dict[str, Any],
    *,
    provider: str,
    model: str,
    effective_from: dt.datetime,
    changed_by: str | None,
    changed_at: dt.datetime,
) -> PriceRow:
    """A manual row from API fields (``inputPerMillion``, ..., ``perRequest``, ``tiers``)."""
    prices = prices_from_api(data)
    per_request = price_value("perRequest", data.get("perRequest"), places=12)
    if not prices and per_request is None:
        raise PriceError("give at least one price (inputPerMillion, outputPerMillion, ...)")
    aliases = tuple(dict.fromkeys(str(a).strip() for a in data.get("aliases") or () if a))
    return PriceRow(
        provider=provider,
        model=model,
        prices=prices,
        effective_from=effective_from,
        source="manual",
        aliases=aliases,
        per_request=per_request,
        tiers=tiers_from_api(data.get("tiers")),
        windows=windows_from_api(data.get("windows")),
        notes=data.get("notes"),
        changed_by=changed_by,
        changed_at=changed_at,
    )


def fallback_row(
    data: dict[str, Any],
    *,
    effective_from: dt.datetime,
    changed_by: str | None,
    changed_at: dt.datetime,
) -> PriceRow:
    """The fallback price (``inputPerMillion`` and ``outputPerMillion``) as a row."""
    prices = {
        cls: price_value(API_FIELDS[cls], data.get(API_FIELDS[cls])) for cls in ("input", "output")
    }
    if any(v is None for v in prices.values()):
        raise PriceError("the fallback needs inputPerMillion and outputPerMillion")
    return PriceRow(
        provider="*",
        model="*",
        prices={k: v for k, v in prices.items() if v is not None},
        effective_from=effective_from,
        source="fallback",
        notes=data.get("notes") or "price for models no catalog knows",
        changed_by=changed_by,
        changed_at=changed_at,
    )


def parse_instant(field: str, value: str, *, end: bool = False) -> dt.datetime:
    """An ISO date (a whole UTC day; as an ``end``, the day is included) or datetime (naive
    means UTC)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return moment + dt.timedelta(days=1) if end else moment
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PriceError(f"{field}: {value!r} is not an ISO date or datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
