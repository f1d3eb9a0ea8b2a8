"""CSV export of raw events, streamed in keyset-paged chunks.

Each chunk is one short read (``(ts_us, id)`` after the last row sent), so a year of events is
never in memory and no read transaction stays open while the client downloads. Text cells that
a spreadsheet would run as a formula are neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, Row, and_, or_, select

from llmledger.analytics.filters import Filters
from llmledger.analytics.requests import event_name
from llmledger.analytics.shown import shown
from llmledger.analytics.source import raw_where
from llmledger.analytics.window import Window, iso
from llmledger.events import TOKEN_FIELDS
from llmledger.money import nanos_to_str
from llmledger.store import tables as t

CHUNK = 5000

HEADER = (
    "timestamp",
    "orgId",
    "userId",
    "agent",
    "sessionId",
    "operation",
    "provider",
    "model",
    "tier",
    "inputTokens",
    "outputTokens",
    "cacheReadTokens",
    "cacheWrite5mTokens",
    "cacheWrite1hTokens",
    "reasoningTokens",
    "inputAudioTokens",
    "outputAudioTokens",
    "requests",
    "costUsd",
    "costSource",
    "latencyMs",
    "success",
    "eventId",
    "metadata",  # last, so the columns before keep their places
)
_TEXT = ("org_id", "user_id", "agent", "session_id", "operation", "provider", "model", "tier")
_COLUMNS = ("id", "ts_us", *_TEXT, *TOKEN_FIELDS, "requests", "cost_nanos", "cost_source")
_TAIL = ("latency_ms", "success", "event_id", "metadata")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: what a spreadsheet may skip before it reads a formula: whitespace, controls (newlines...),
#: format characters (zero-width spaces and joiners, the BOM, direction marks)
_INVISIBLE = frozenset(("Zs", "Zl", "Zp", "Cc", "Cf"))


def neutralise(text: str | None) -> str:
    """A text cell that no spreadsheet evaluates (``=1+1`` becomes ``'=1+1``): one that starts
    with a formula character once leading whitespace and invisible characters are skipped,
    full-width and small forms (U+FF1D, U+FE62...) read as the ASCII ones."""
    if not text:
        return ""
    first = text[0]
    if first.isascii() and first.isalnum():  # nearly every cell
        return text
    if text.startswith(_FORMULA_START):
        return "'" + text
    for char in text:
        if char.isspace() or unicodedata.category(char) in _INVISIBLE:
            continue
        if unicodedata.normalize("NFKC", char).startswith(_FORMULA_START[:4]):
            return "'" + text
        break
    return text


def _line(r: Row[Any]) -> list[Any]:
    m = r._mapping
    return [
        iso(m["ts_us"]),
        *(neutralise(m[c]) for c in _TEXT),
        *(m[c] for c in TOKEN_FIELDS),
        m["requests"],
        nanos_to_str(m["cost_nanos"]),
        m["cost_source"],
        "" if m["latency_ms"] is None else m["latency_ms"],
        "true" if m["success"] else "false",
        m["event_id"],
        neutralise(m["metadata"]),  # the JSON text as stored
    ]


def export_csv(
    engine: Engine, *, window: Window, filters: Filters, chunk: int = CHUNK
) -> Iterator[str]:
    """The CSV text, header first, oldest event first, one piece per chunk of events."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield out.getvalue()
    e = t.events.c
    after: tuple[int, int] | None = None
    while True:
        q = (
            select(*(e[c] for c in (*_COLUMNS, *_TAIL)))
            .where(e.ts_us >= window.start_us, e.ts_us < window.end_us)
            .order_by(e.ts_us, e.id)
            .limit(chunk)
        )
        if after is not None:
            ts_us, row_id = after
            q = q.where(
                e.ts_us >= ts_us, or_(e.ts_us > ts_us, and_(e.ts_us == ts_us, e.id > row_id))
            )
        with engine.connect() as conn:
            rows = conn.execute(raw_where(q, filters)).all()
        if not rows:
            return
        out.seek(0)
        out.truncate()
        writer.writerows(shown(rows, _line, what=event_name))
        yield out.getvalue()
        if len(rows) < chunk:
            return
        after = (rows[-1].ts_us, rows[-1].id)
