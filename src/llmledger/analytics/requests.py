"""The request log: raw events newest first, paged by an opaque keyset cursor.

A page ends at the (timestamp, id) of its last row and the next page starts strictly below it,
so rows that arrive while someone pages (newer ones, or late ones with old timestamps) never make
a row appear twice or push one out of the pages still to come.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, or_, select

from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters
from llmledger.analytics.shown import shown
from llmledger.analytics.source import raw_where
from llmledger.analytics.window import Window, iso
from llmledger.money import nanos_to_float
from llmledger.store import tables as t
from llmledger.store.rows import EVENT_COLUMNS

_CURSOR = re.compile(r"(-?\d{1,19})\.(\d{1,19})")
_MAX_INT = 2**63 - 1

#: the event columns a request row shows (``event_json`` reads them by name)
COLUMNS = ("id", *(c for c in EVENT_COLUMNS if c != "received_us"))


class CursorError(ParamError):
    def __init__(self) -> None:
        super().__init__("cursor", "not a cursor this endpoint returned")


def encode_cursor(ts_us: int, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{ts_us}.{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError() from None
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise CursorError()
    ts_us, row_id = int(match[1]), int(match[2])
    if abs(ts_us) > _MAX_INT or row_id > _MAX_INT:
        raise CursorError()
    return ts_us, row_id


def event_json(row: Row[Any]) -> dict[str, Any]:
    """One stored event as the API shows it (camelCase, ``null`` for what was not sent)."""
    r = row._mapping
    return {
        "eventId": r["event_id"],
        "timestamp": iso(r["ts_us"]),
        "orgId": r["org_id"] or None,
        "userId": r["user_id"],
        "agent": r["agent"],
        "sessionId": r["session_id"],
        "agentSessionId": r["agent_session_id"],
        "agentExecutionId": r["agent_execution_id"],
        "agentPlanId": r["agent_plan_id"],
        "operation": r["operation"],
        "provider": r["provider"],
        "model": r["model"],
        "tier": r["tier"],
        "inputTokens": r["input_tokens"],
        "outputTokens": r["output_tokens"],
        "cacheReadTokens": r["cache_read_tokens"],
        "cacheWrite5mTokens": r["cache_write_5m_tokens"],
        "cacheWrite1hTokens": r["cache_write_1h_tokens"],
        "reasoningTokens": r["reasoning_tokens"],
        "inputAudioTokens": r["input_audio_tokens"],
        "outputAudioTokens": r["output_audio_tokens"],
        "requests": r["requests"],
        "costUsd": nanos_to_float(r["cost_nanos"]),
        "costNanos": r["cost_nanos"],
        "costSource": r["cost_source"],
        "priceId": r["price_id"],
        "latencyMs": r["latency_ms"],
        "timeToFirstTokenMs": r["ttft_ms"],
        "success": bool(r["success"]),
        "errorType": r["error_type"],
        "statusCode": r["status_code"],
        "requestId": r["request_id"],
        "stream": None if r["stream"] is None else bool(r["stream"]),
        # stored as the JSON text ingest checked (``events.metadata_json``)
        "metadata": None if r["metadata"] is None else orjson.loads(r["metadata"]),
    }


def event_name(row: Row[Any]) -> str:
    return f"event {row._mapping['event_id']}"


def request_log(
    conn: Connection,
    *,
    window: Window,
    filters: Filters,
    limit: int,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Events in the window (exact, not widened) matching the filters, newest first."""
    e = t.events.c
    q = (
        select(*(e[c] for c in COLUMNS))
        .where(e.ts_us >= window.start_us, e.ts_us < window.end_us)
        .order_by(e.ts_us.desc(), e.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        ts_us, row_id = decode_cursor(cursor)
        q = q.where(e.ts_us <= ts_us, or_(e.ts_us < ts_us, and_(e.ts_us == ts_us, e.id < row_id)))
    rows = conn.execute(raw_where(q, filters)).all()
    page = rows[:limit]
    more = len(rows) > limit
    return {
        **window.as_json(),
        "requests": shown(page, event_json, what=event_name),
        "nextCursor": encode_cursor(page[-1].ts_us, page[-1].id) if more else None,
    }
