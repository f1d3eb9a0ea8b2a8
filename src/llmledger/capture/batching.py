"""Turning the caller's cheap event dicts into wire events, on the exporter's thread.

The caller's thread stores the request start as a float (``time.time()``) and leaves the id
empty; formatting the RFC 3339 timestamp and drawing the UUIDv7 happen here, once per event,
before the batch is serialised - so a retried or spooled batch re-sends the same ids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from llmledger.capture.guard import log
from llmledger.ids import uuid7

_warned = False


def _read_usage(deferred: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Run a wrapper's deferred normaliser; an unreadable usage object keeps the event (with
    zero tokens and ``usageUnreadable``) rather than losing the call."""
    global _warned
    normalizer, raw = deferred
    try:
        fields: dict[str, Any] = normalizer(raw)
        return fields
    except Exception:
        if not _warned:
            _warned = True
            log.exception("llmledger: could not read a usage object (further ones not logged)")
        metadata = {**(event.get("metadata") or {}), "usageUnreadable": True}
        return {"inputTokens": 0, "outputTokens": 0, "metadata": metadata}


def finalize(event: dict[str, Any]) -> dict[str, Any]:
    """The camelCase wire form: ``eventId`` and an RFC 3339 ``timestamp`` set, usage read, no
    nulls."""
    out = {k: v for k, v in event.items() if v is not None}
    deferred = out.pop("_usage", None)
    if deferred is not None:
        out.update(_read_usage(deferred, out))
    ts = out.get("timestamp")
    if ts is None or isinstance(ts, int | float):
        seconds = float(ts) if ts is not None else dt.datetime.now(dt.UTC).timestamp()
        out["timestamp"] = dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
        unix_ms = int(seconds * 1000)
    elif isinstance(ts, dt.datetime):
        aware = ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)
        out["timestamp"] = aware.isoformat()
        unix_ms = int(aware.timestamp() * 1000)
    else:
        unix_ms = None
    if "eventId" not in out:
        out["eventId"] = str(uuid7(unix_ms))
    else:
        out["eventId"] = str(out["eventId"])
    cost = out.get("costUsd")
    if cost is not None and not isinstance(cost, str):
        out["costUsd"] = format(cost, "f") if not isinstance(cost, float) else repr(cost)
    return out
