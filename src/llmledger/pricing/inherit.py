"""A manual price changes only the token prices it names.

``llmledger prices set gpt-4o --output 2`` means "gpt-4o's output now costs $2", not "its input
is free". So the token prices a manual row leaves out are inherited from the row that prices
the model at the new row's start (a catalog row, or an earlier manual one), copied into the new
row: it reads, bills and re-prices on its own, and a later catalog change does not reach it.
Tiers, daily windows and the per-request fee are not inherited: a manual row's are the ones it
gives. A row that leaves the input or the output price out when there is nothing to inherit it
from (a model no catalog prices) is refused; a free class is said with an explicit 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from llmledger.pricing.convert import API_FIELDS, PriceError
from llmledger.pricing.rows import CLASSES, PriceRow
from llmledger.pricing.seed import load_price_book, row_from_db
from llmledger.pricing.tables import price_rows
from llmledger.pricing.timeline import in_force

#: the classes every manual row must price (the others are billed from them when absent)
REQUIRED = ("input", "output")


class UnpricedClass(PriceError):
    """A manual row that would bill a token class at $0 without saying so."""

    def __init__(self, classes: list[str], row: PriceRow) -> None:
        self.classes = classes
        self.row = row
        super().__init__(self.worded(API_FIELDS))

    def worded(self, names: dict[str, str]) -> str:
        """The message, naming each class as ``names`` does (API fields, CLI flags)."""
        row = self.row
        return (
            f"{' and '.join(names[c] for c in self.classes)}: no price of "
            f"{row.provider}/{row.model} is in force at {row.effective_from:%Y-%m-%d %H:%M:%S}Z "
            "to inherit it from; give it (0 if it is free)"
        )


@dataclass(frozen=True)
class Completed:
    row: PriceRow  # the manual row with every inherited price in it
    inherited: tuple[str, ...]  # the classes whose price came from ``base``
    base: PriceRow | None  # the row that priced the model at the new row's start


def base_row(conn: Connection, provider: str, model: str, row: PriceRow) -> PriceRow | None:
    """The row that prices (provider, model) at ``row``'s start: the model's own rows first;
    for a name only a catalog rule covers (a dated snapshot), the whole price book decides."""
    c = price_rows.c
    own = conn.execute(
        select(price_rows).where(
            c.source != "fallback",
            func.lower(c.provider) == provider.lower(),
            func.lower(c.model) == model.lower(),
        )
    )
    rows = sorted((row_from_db(r) for r in own), key=lambda r: (r.effective_from, r.id or 0))
    found = in_force(rows, row.effective_from)
    if found is None and not rows:
        found = load_price_book(conn).price_in_force(provider, model, row.effective_from)
    return found


def complete(conn: Connection, row: PriceRow, *, provider: str, model: str) -> Completed:
    """``row`` with the token prices it leaves out inherited from the row in force at its start
    (read before the change closes anything); ``UnpricedClass`` when input or output stay
    unpriced."""
    base = base_row(conn, provider, model, row)
    inherited = tuple(
        c
        for c in CLASSES
        if row.prices.get(c) is None and base is not None and base.prices.get(c) is not None
    )
    prices = {**row.prices, **{c: base.prices[c] for c in inherited if base is not None}}
    missing = [c for c in REQUIRED if prices.get(c) is None]
    if missing:
        raise UnpricedClass(missing, row)
    return Completed(
        dataclasses.replace(row, prices=prices), inherited, base if inherited else None
    )
