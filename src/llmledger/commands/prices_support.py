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
    from llmledger.commands.environment import open_ledger as open_settings

    return open_settings(ctx.obj)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def when(name: str, value: str | None, *, end: bool = False) -> dt.datetime | None:
    from llmledger.pricing.convert import PriceError, parse_instant

    if value is None:
        return None
    try:
        return parse_instant(name, value, end=end)
    except PriceError as exc:
        raise click.BadParameter(str(exc).removeprefix(f"{name}: "), param_hint=name) from None
    except OverflowError:  # the day after 9999-12-31
        raise click.BadParameter(f"{value!r} is out of range", param_hint=name) from None


#: the API's names for what the ``prices`` commands call by their flags
_API_NAMES = {
    "perRequest": "--per-request",
    "effectiveFrom": "--from",
    "effectiveTo": "--at",
    "startDate": "--start",
    "endDate": "--end",
    "aliases": "--alias",
    "notes": "--notes",
}


def flag_words(text: str) -> str:
    """A message of the pricing layer (which speaks the API's field names) in the words of the
    command line: ``inputPerMillion`` is ``--input``, ``tiers.0.aboveInputTokens`` is the
    first ``--tier``'s ABOVE."""
    import re

    from llmledger.pricing.convert import API_FIELDS

    names = {api: "--" + cls.replace("_", "-") for cls, api in API_FIELDS.items()}
    names |= _API_NAMES
    text = re.sub(
        r"\btiers\.(\d+)(\.(\w+))?",
        lambda m: (
            f"--tier #{int(m.group(1)) + 1}"
            + (" ABOVE" if m.group(3) == "aboveInputTokens" else "")
        ),
        text,
    )
    pattern = r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b"
    text = re.sub(pattern, lambda m: names[m.group(1)], text)
    return re.sub(r"\ban (?=--)", "a ", text)


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
