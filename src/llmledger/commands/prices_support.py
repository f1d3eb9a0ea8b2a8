"""What the ``llmledger prices`` commands share: opening the ledger, reading instants, and one
line per price row."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from llmledger.ledger import Ledger
    from llmledger.pricing.rows import PriceRow


def open_ledger(ctx: click.Context) -> Ledger:
    from llmledger.ledger import Ledger

    return Ledger.open(ctx.obj)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def when(name: str, value: str | None, *, end: bool = False) -> dt.datetime | None:
    from llmledger.pricing.convert import PriceError, parse_instant

    if value is None:
        return None
    try:
        return parse_instant(name, value, end=end)
    except PriceError as exc:
        raise click.BadParameter(str(exc)) from None


def line(row: PriceRow) -> str:
    from llmledger.pricing.convert import dec_str

    def p(cls: str) -> str:
        return dec_str(row.prices.get(cls)) or "-"

    extra = []
    if row.tiers:
        extra.append(f"tiers>{','.join(str(t.above_input_tokens) for t in row.tiers)}")
    if row.per_request:
        extra.append(f"+{dec_str(row.per_request)}/request")
    return (
        f"{row.id:>7}  {row.provider}/{row.model}  in {p('input')}  out {p('output')}  "
        f"cache r/5m/1h {p('cache_read')}/{p('cache_write_5m')}/{p('cache_write_1h')}  "
        f"[{row.source}] {' '.join(extra)}"
    ).rstrip()
