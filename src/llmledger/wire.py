"""The ingest fast path: a batch body decoded and validated in one pass by msgspec.

``UsageEvent`` (pydantic) is the contract and the only source of error messages. Most batches are
entirely valid, though, and for them building a pydantic model per event costs more than the
rest of the write. So ``decode_batch`` first tries a msgspec ``Struct`` that mirrors
``UsageEvent`` field for field but is *stricter*: any event it is unsure of (a timestamp not in
the canonical RFC 3339 form, a UUID not in lower-case hyphenated form, a ``\\u0000`` anywhere in
the body, a snake_case key) makes it give up, and the caller validates the whole batch the slow
way. The fast path therefore never accepts an event the contract rejects, and for every event it
accepts it yields exactly the values the contract would (tests/ingest/test_wire.py checks both
against random batches).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import Meta

from llmledger.events import MAX_STRING, MAX_TOKENS, UsageEvent

_Label = Annotated[str, Meta(min_length=1, max_length=MAX_STRING)]
_OptLabel = Annotated[str, Meta(max_length=MAX_STRING)] | None
_Count = Annotated[int, Meta(ge=0, le=MAX_TOKENS)]
_Millis = Annotated[int, Meta(ge=0, le=86_400_000)] | None
#: canonical RFC 3339 (what every JSON serialiser emits); fromisoformat then truncates past
#: the microsecond, as pydantic does
_Timestamp = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
        r"(Z|[+-][0-9]{2}:[0-9]{2})\Z"
    ),
]
_UUID = Annotated[
    str,
    Meta(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"),
]

#: JSON names, taken from the contract so the two can never drift apart
_NAMES = {name: field.alias or name for name, field in UsageEvent.model_fields.items()}


class WireEvent(msgspec.Struct, rename=_NAMES, forbid_unknown_fields=True, gc=False):
    """``UsageEvent`` as it arrives over HTTP (same fields, same defaults, stricter forms)."""

    event_id: _UUID
    timestamp: _Timestamp
    provider: _Label
    model: _Label

    org_id: _OptLabel = None
    user_id: _OptLabel = None
    agent: _OptLabel = None
    session_id: _OptLabel = None
    agent_session_id: _OptLabel = None
    agent_execution_id: _OptLabel = None
    agent_plan_id: _OptLabel = None
    operation: _OptLabel = None
    tier: _OptLabel = None
    metadata: dict[Annotated[str, Meta(max_length=MAX_STRING)], Any] | None = None

    input_tokens: _Count = 0
    output_tokens: _Count = 0
    cache_read_tokens: _Count = 0
    cache_write_5m_tokens: _Count = 0
    cache_write_1h_tokens: _Count = 0
    reasoning_tokens: _Count = 0
    input_audio_tokens: _Count = 0
    output_audio_tokens: _Count = 0
    requests: Annotated[int, Meta(ge=1, le=1_000_000)] = 1

    latency_ms: _Millis = None
    time_to_first_token_ms: _Millis = None
    success: bool = True
    error_type: _OptLabel = None
    status_code: Annotated[int, Meta(ge=100, le=599)] | None = None
    request_id: _OptLabel = None
    stream: bool | None = None

    cost_usd: str | int | float | None = None


class _Batch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: list[WireEvent]


_DECODER = msgspec.json.Decoder(_Batch)
_PLAIN = msgspec.json.Decoder()
parse_timestamp = dt.datetime.fromisoformat
#: a JSON integer outside the signed 64-bit range has at least 19 digits
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


class NotJSON(ValueError):
    """The body cannot be read as JSON (the message says why)."""


def decode_batch(body: bytes, *, max_events: int) -> list[WireEvent] | None:
    """The batch's events, or ``None`` when the slow path must decide (anything unusual,
    including every kind of error: only the slow path words error messages)."""
    # NUL is the one character PostgreSQL cannot store in text; the contract names it per field
    if b"\\u0000" in body:
        return None
    try:
        events = _DECODER.decode(body).events
    except (msgspec.DecodeError, RecursionError):
        return None
    return events if len(events) <= max_events else None


def decode_plain(body: bytes) -> Any:
    """The body as plain JSON values, for the contract to judge event by event.

    msgspec reads it, as the fast path does, so integers stay exact (orjson would turn one
    beyond 64 bits into a float, which the contract could no longer refuse). Its nesting limit
    follows Python's recursion limit; a body it cannot follow is read by orjson, whose limit
    is a fixed 1,024 levels, unless the body holds a number long enough to lose precision
    there."""
    try:
        return _PLAIN.decode(body)
    except msgspec.DecodeError as exc:
        raise NotJSON(str(exc)) from None
    except RecursionError:
        pass
    if _LONG_DIGITS.search(body):
        raise NotJSON("nested too deeply to be read exactly")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotJSON(str(exc)) from None
