"""Seeding the bundled catalog and the fallback price, and loading the price book."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, update

from llmledger.pricing.bundled import bundled_rows
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import EPOCH, PriceRow, PriceTier, PriceWindow
from llmledger.pricing.tables import PRICE_COLUMNS, price_rows
from llmledger.store.rows import from_us, to_us
from llmledger.store.tables import app_settings


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def row_to_db(row: PriceRow, *, changed_us: int, changed_by: str | None = None) -> dict[str, Any]:
    return {
        "provider": row.provider,
        "model": row.model,
        "aliases": list(row.aliases),
        "match": row.match,
        "effective_from_us": to_us(row.effective_from),
        "effective_to_us": None if row.effective_to is None else to_us(row.effective_to),
        "source": row.source,
        **{f"{c}_per_million": _dec(row.prices.get(c)) for c in PRICE_COLUMNS},
        "per_request": _dec(row.per_request),
        "tiers": [
            {"aboveInputTokens": t.above_input_tokens, **{k: _dec(v) for k, v in t.prices.items()}}
            for t in row.tiers
        ],
        "notes": row.notes,
        "windows": [
            {"startS": w.start_s, "endS": w.end_s, **{k: _dec(v) for k, v in w.prices.items()}}
            for w in row.windows
        ]
        or None,
        "changed_by": changed_by if changed_by is not None else row.changed_by,
        "changed_us": changed_us,
    }


def row_from_db(r: Any) -> PriceRow:
    m = r._mapping
    prices = {c: Decimal(m[f"{c}_per_million"]) for c in PRICE_COLUMNS if m[f"{c}_per_million"]}
    tiers = tuple(
        PriceTier(
            int(t["aboveInputTokens"]),
            {k: Decimal(v) for k, v in t.items() if k != "aboveInputTokens" and v is not None},
        )
        for t in (m["tiers"] or [])
    )
    return PriceRow(
        id=m["id"],
        provider=m["provider"],
        model=m["model"],
        aliases=tuple(m["aliases"] or ()),
        match=m["match"],
        prices=prices,
        effective_from=from_us(m["effective_from_us"]),
        effective_to=None if m["effective_to_us"] is None else from_us(m["effective_to_us"]),
        source=m["source"],
        per_request=Decimal(m["per_request"]) if m["per_request"] else None,
        tiers=tiers,
        notes=m["notes"],
        windows=tuple(
            PriceWindow(
                int(w["startS"]),
                int(w["endS"]),
                {k: Decimal(v) for k, v in w.items() if k not in ("startS", "endS") and v},
            )
            for w in (m["windows"] or [])
        ),
        changed_by=m["changed_by"],
        changed_at=from_us(m["changed_us"]),
    )


def seed_bundled_prices(
    conn: Connection,
    *,
    now: dt.datetime,
    fallback_input: Decimal = Decimal("10"),
    fallback_output: Decimal = Decimal("30"),
) -> int:
    """Insert the bundled catalog and the fallback row once; returns rows inserted."""
    have: dict[str, int] = dict(
        conn.execute(select(price_rows.c.source, func.count()).group_by(price_rows.c.source)).all()
    )
    rows: list[PriceRow] = []
    if not have.get("bundled"):
        rows += bundled_rows()
    if not have.get("fallback"):
        rows.append(
            PriceRow(
                provider="*",
                model="*",
                prices={"input": fallback_input, "output": fallback_output},
                effective_from=EPOCH,
                source="fallback",
                notes="price for models no catalog knows",
            )
        )
    if rows:
        now_us = to_us(now)
        conn.execute(price_rows.insert(), [row_to_db(r, changed_us=now_us) for r in rows])
        bump_prices_version(conn)
    return len(rows)


#: the ``app_settings`` key whose value changes with every change to prices
PRICES_VERSION = "prices_version"


def bump_prices_version(conn: Connection) -> None:
    """Mark prices as changed, in the caller's transaction: every process (other app nodes,
    a server while the CLI edits prices) sees a new version and reloads its price book."""
    token, now_us = uuid.uuid4().hex, time.time_ns() // 1000
    c = app_settings.c
    done = conn.execute(
        update(app_settings).where(c.key == PRICES_VERSION).values(value=token, updated_us=now_us)
    )
    if done.rowcount == 0:
        conn.execute(
            app_settings.insert().values(key=PRICES_VERSION, value=token, updated_us=now_us)
        )


def prices_version(conn: Connection) -> str | None:
    c = app_settings.c
    found = conn.execute(select(c.value).where(c.key == PRICES_VERSION)).scalar_one_or_none()
    return None if found is None else str(found)


def load_price_book(conn: Connection) -> PriceBook:
    return PriceBook(row_from_db(r) for r in conn.execute(select(price_rows)))
