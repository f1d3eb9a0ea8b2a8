"""Money as integers.

Stored costs are integer nano-dollars (1e-9 USD). Prices are ``Decimal`` US dollars per million
tokens; the pricing engine turns them into integer pico-dollars per token, multiplies by integer
token counts and rounds once per event to nano-dollars. No float ever touches stored money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

NANOS_PER_USD = 1_000_000_000
PICOS_PER_NANO = 1_000
#: $1 per million tokens is 1e-6 $/token = 1e6 pico-dollars per token.
PICOS_PER_TOKEN_PER_USD_PER_MILLION = 1_000_000

_NANO = Decimal("0.000000001")


class MoneyError(ValueError):
    """A value cannot be read as an amount of money."""


def usd_to_nanos(value: Decimal | str | int | float) -> int:
    """Exact dollars (Decimal, decimal string, int, or float read through ``str``) to nano-dollars.

    Rounded half-to-even at the ninth decimal.
    """
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise MoneyError(f"{value!r} is not a decimal amount") from exc
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    return int((amount * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def nanos_to_usd(nanos: int) -> Decimal:
    """Nano-dollars to an exact ``Decimal`` with nine decimals."""
    return (Decimal(nanos) / NANOS_PER_USD).quantize(_NANO)


def nanos_to_str(nanos: int) -> str:
    """Nano-dollars as a plain decimal string with all nine decimals, e.g. ``"0.000725000"``."""
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), NANOS_PER_USD)
    return f"{sign}{whole}.{frac:09d}"


def nanos_to_float(nanos: int) -> float:
    """For presentation only (JSON numbers in analytics answers); never stored."""
    return nanos / NANOS_PER_USD


def picos_to_nanos(picos: int) -> int:
    """Round an exact pico-dollar total to nano-dollars, half to even."""
    q, r = divmod(picos, PICOS_PER_NANO)
    half = PICOS_PER_NANO // 2
    if r > half or (r == half and q % 2 == 1):
        q += 1
    return q


def per_million_to_picos_per_token(price: Decimal) -> int:
    """A ``Decimal`` $/1M-token price as integer pico-dollars per token.

    Exact for prices with up to six decimals (a millionth of a dollar per million tokens);
    finer prices are rounded half to even, which no published price needs.
    """
    return int((price * PICOS_PER_TOKEN_PER_USD_PER_MILLION).to_integral_value(ROUND_HALF_EVEN))
