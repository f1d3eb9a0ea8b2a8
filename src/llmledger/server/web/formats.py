"""Numbers and times for people: ``$1,234.56``, ``$0.0042``, ``1.2M``, ``3.4 s``, UTC times.

Templates use these as filters; every one takes ``None`` (an average over nothing) and shows a
dash, never 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

DASH = "—"


def usd(value: float | Decimal | str | None) -> str:
    """Dollars: cents from one cent up, four significant digits below (``$0.0042``)."""
    if value is None:
        return DASH
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount == 0:
        return "$0.00"
    if amount >= Decimal("0.01"):
        return f"{sign}${amount:,.2f}"
    text = f"{amount:.4g}"
    if "e" in text:  # 4 significant digits of a tiny amount, written out
        digits = -amount.adjusted() + 3
        text = f"{amount:.{digits}f}".rstrip("0")
    return f"{sign}${text}"


def usd_exact(value: str | Decimal | None) -> str:
    """An exact decimal amount as it is, trailing zeros trimmed to at least cents."""
    if value is None:
        return DASH
    text = format(Decimal(str(value)), "f")
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(2, "0")
        text = f"{whole}.{frac}"
    return f"${text}"


def compact(value: float | int | None) -> str:
    """A count for a glance: ``950``, ``12.3k``, ``1.2M``, ``3.4B``."""
    if value is None:
        return DASH
    n = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{n:,.0f}" if n == int(n) else f"{n:,.1f}"


def tokens(value: float | int | None) -> str:
    return DASH if value is None else f"{compact(value)} tokens"


def count(value: float | int | None) -> str:
    """An exact count with thousands separators."""
    if value is None:
        return DASH
    return f"{value:,.0f}" if float(value) == int(value) else f"{value:,.1f}"


def ms(value: float | int | None) -> str:
    """A duration in milliseconds: ``850 ms``, ``3.4 s``, ``2.5 min``."""
    if value is None:
        return DASH
    if value < 1000:
        return f"{value:,.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"


def minutes(value: float | int | None) -> str:
    return DASH if value is None else ms(float(value) * 60_000)


def percent(value: float | int | None, digits: int = 1) -> str:
    """A percentage (``12.3%``); ``ratio`` below is for rates stored as 0..1."""
    if value is None:
        return DASH
    return f"{value:.{digits}f}%"


def ratio(value: float | None) -> str:
    return DASH if value is None else percent(value * 100)


def change(value: float | None) -> str:
    """A change in percent with its sign: ``+12.5%``, ``-3.0%``."""
    if value is None:
        return DASH
    return f"+{value:.1f}%" if value >= 0 else f"-{abs(value):.1f}%"


def utc(value: str | None, *, seconds: bool = False) -> str:
    """An RFC 3339 instant as ``2026-12-04 13:05 UTC``."""
    if not value:
        return DASH
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def day(value: str | None) -> str:
    return value[:10] if value else DASH


def text(value: Any) -> str:
    """A label, or a dash for one that was not sent."""
    return DASH if value is None or value == "" else str(value)


FILTERS: dict[str, Callable[..., str]] = {
    "usd": usd,
    "usd_exact": usd_exact,
    "compact": compact,
    "tokens": tokens,
    "count": count,
    "ms": ms,
    "minutes": minutes,
    "percent": percent,
    "ratio": ratio,
    "change": change,
    "utc": utc,
    "day": day,
    "text": text,
}
