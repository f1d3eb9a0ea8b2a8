"""Manual capture: ``llmledger.record(...)`` for calls no wrapper sees."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from llmledger.capture import state
from llmledger.capture.context import current, merge, to_wire
from llmledger.capture.guard import fault
from llmledger.ids import uuid7

#: keyword -> wire name for the measured fields
MEASURES = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_tokens": "cacheReadTokens",
    "cache_write_5m_tokens": "cacheWrite5mTokens",
    "cache_write_1h_tokens": "cacheWrite1hTokens",
    "reasoning_tokens": "reasoningTokens",
    "input_audio_tokens": "inputAudioTokens",
    "output_audio_tokens": "outputAudioTokens",
    "requests": "requests",
    "latency_ms": "latencyMs",
    "time_to_first_token_ms": "timeToFirstTokenMs",
    "success": "success",
    "error_type": "errorType",
    "status_code": "statusCode",
    "request_id": "requestId",
    "stream": "stream",
}


def attribution(client: dict[str, Any] | None = None) -> dict[str, Any]:
    """Configured defaults < the wrapped client's < the ``attribute()`` context."""
    out = state.defaults()
    if client:
        out = merge(out, client)
    return merge(out, current())


def record(
    *,
    provider: str,
    model: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: Decimal | str | int | None = None,
    timestamp: dt.datetime | float | None = None,
    event_id: str | None = None,
    **fields: Any,
) -> str | None:
    """Record one LLM call by hand; returns its event id. Other keywords: the token parts
    (``cache_read_tokens``...), ``latency_ms``, ``success``, ``status_code``... and attribution
    (``org_id``, ``user_id``, ``session_id``, ``operation``, ``metadata``...), which wins over
    ``attribute()`` and configured defaults."""
    own = {k: v for k, v in fields.items() if k not in MEASURES}
    own_wire = to_wire(own)  # a misspelt keyword is the caller's TypeError, raised here
    try:
        event: dict[str, Any] = {
            "timestamp": time.time() if timestamp is None else timestamp,
            "provider": provider,
            "model": model,
            "inputTokens": int(input_tokens),
            "outputTokens": int(output_tokens),
        }
        for key, value in fields.items():
            if key in MEASURES:
                event[MEASURES[key]] = value
        if cost_usd is not None:
            event["costUsd"] = cost_usd if isinstance(cost_usd, str) else format(cost_usd, "f")
        event.update(merge(attribution(), own_wire))
        eid = event_id or str(uuid7(_unix_ms(event["timestamp"])))
        event["eventId"] = eid
        state.emit(event)
        return eid
    except Exception as exc:
        fault("record", exc)
        return None


def _unix_ms(ts: dt.datetime | float) -> int:
    if isinstance(ts, dt.datetime):
        return int(ts.timestamp() * 1000)
    return int(ts * 1000)
