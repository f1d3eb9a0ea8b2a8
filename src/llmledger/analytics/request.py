"""One request in full (``/requests/{eventId}``): the stored event, the price row that priced it
and its cost explained line by line (``pricing.explain``).

The explanation uses the row named by the event's ``priceId`` (price rows are never edited, so
it is the row that priced the event). A provider-reported cost is kept as reported; the catalog
row in force is then explained beside it, for comparison.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from llmledger.analytics.requests import COLUMNS, event_json
from llmledger.money import nanos_to_str
from llmledger.pricing.catalog import get_row
from llmledger.pricing.convert import row_json
from llmledger.pricing.cost import StoredUsage
from llmledger.pricing.explain import Explanation, explain_cost
from llmledger.pricing.rows import PriceWindow
from llmledger.store import tables as t
from llmledger.store.rows import from_us

_PICOS_PER_USD = 10**12


def picos_text(picos: int) -> str:
    """Exact pico-dollars as a plain decimal string of dollars (12 decimals)."""
    sign = "-" if picos < 0 else ""
    whole, frac = divmod(abs(picos), _PICOS_PER_USD)
    return f"{sign}{whole}.{frac:012d}"


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _window_json(w: PriceWindow | None) -> dict[str, str] | None:
    return None if w is None else {"startUtc": _clock(w.start_s), "endUtc": _clock(w.end_s)}


def explanation_json(found: Explanation, stored_nanos: int, source: str) -> dict[str, Any]:
    return {
        "lines": [
            {
                "tokenClass": line.token_class,
                "label": line.label,
                "quantity": line.quantity,
                "usdPerMillion": format(line.usd_per_million.normalize(), "f"),
                "costUsd": picos_text(line.picos),
                "note": line.note,
            }
            for line in found.lines
        ],
        "exactCostUsd": picos_text(found.picos),
        "costUsd": nanos_to_str(found.nanos),
        "costNanos": found.nanos,
        "tierAboveInputTokens": None if found.tier is None else found.tier.above_input_tokens,
        "window": _window_json(found.window),
        # a provider-reported cost is what was billed; the lines are the catalog's figure
        "equalsStoredCost": found.nanos == stored_nanos if source != "provider" else None,
    }


def request_detail(conn: Connection, *, event_id: str, org_id: str | None) -> dict[str, Any] | None:
    """The event with ``event_id`` (within ``org_id`` when given), or ``None``."""
    e = t.events.c
    q = select(*(e[c] for c in COLUMNS), e.metadata).where(e.event_id == event_id)
    if org_id is not None:
        q = q.where(e.org_id == org_id)
    row: Any = conn.execute(q).first()
    if row is None:
        return None
    event = event_json(row)
    metadata = json.loads(row.metadata) if row.metadata else None
    price = get_row(conn, row.price_id) if row.price_id is not None else None
    explanation = None
    if price is not None:
        usage = StoredUsage(
            **{name: getattr(row, name) for name in StoredUsage.__dataclass_fields__}
        )
        found = explain_cost(price, usage, from_us(row.ts_us))
        explanation = explanation_json(found, row.cost_nanos, row.cost_source)
    return {
        "request": event,
        "metadata": metadata,
        "cost": {
            "costUsd": nanos_to_str(row.cost_nanos),
            "costNanos": row.cost_nanos,
            "costSource": row.cost_source,
        },
        "price": None if price is None else row_json(price),
        "explanation": explanation,
    }
