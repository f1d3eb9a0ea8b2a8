"""Turning validated events into stored rows and rollup deltas (pure functions, no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from llmledger.events import UsageEvent

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)


class PricedCost(Protocol):
    cost_nanos: int
    cost_source: str
    price_id: int | None


class Pricer(Protocol):
    def price(self, event: UsageEvent) -> PricedCost: ...


def to_us(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact, no float)."""
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def hour_bucket(ts_us: int) -> int:
    return ts_us // US_PER_HOUR * 3600


def day_bucket(ts_us: int) -> int:
    return ts_us // US_PER_DAY * 86400


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event with its price, ready to be written."""

    event: UsageEvent
    ts_us: int
    org_id: str
    cost_nanos: int
    cost_source: str
    price_id: int | None


def event_row(se: StoredEvent, received_us: int) -> dict[str, Any]:
    e = se.event
    return {
        "event_id": str(e.event_id),
        "ts_us": se.ts_us,
        "org_id": se.org_id,
        "user_id": e.user_id,
        "agent": e.agent,
        "session_id": e.session_id,
        "agent_session_id": e.agent_session_id,
        "agent_execution_id": e.agent_execution_id,
        "agent_plan_id": e.agent_plan_id,
        "operation": e.operation,
        "tier": e.tier,
        "provider": e.provider,
        "model": e.model,
        "input_tokens": e.input_tokens,
        "output_tokens": e.output_tokens,
        "cache_read_tokens": e.cache_read_tokens,
        "cache_write_5m_tokens": e.cache_write_5m_tokens,
        "cache_write_1h_tokens": e.cache_write_1h_tokens,
        "reasoning_tokens": e.reasoning_tokens,
        "input_audio_tokens": e.input_audio_tokens,
        "output_audio_tokens": e.output_audio_tokens,
        "requests": e.requests,
        "latency_ms": e.latency_ms,
        "ttft_ms": e.time_to_first_token_ms,
        "success": e.success,
        "error_type": e.error_type,
        "status_code": e.status_code,
        "request_id": e.request_id,
        "stream": e.stream,
        "cost_nanos": se.cost_nanos,
        "cost_source": se.cost_source,
        "price_id": se.price_id,
        "metadata": orjson.dumps(e.metadata).decode() if e.metadata is not None else None,
        "received_us": received_us,
    }


@dataclass(slots=True)
class RollupDeltas:
    """Additive changes to every rollup that a set of events touches."""

    hour: dict[tuple[Any, ...], list[int]]
    day: dict[tuple[Any, ...], list[int]]
    sessions: dict[tuple[str, str], list[Any]]
    session_agents: dict[tuple[str, str, str], list[int]]
    user_day: dict[tuple[int, str, str], list[int]]


def measures(r: dict[str, Any]) -> list[int]:
    """The rollup measures of one stored event row, in ``ROLLUP_MEASURES`` order."""
    latency = r["latency_ms"]
    fallback = r["cost_source"] == "fallback"
    return [
        r["requests"],
        1,
        r["input_tokens"],
        r["output_tokens"],
        r["cache_read_tokens"],
        r["cache_write_5m_tokens"],
        r["cache_write_1h_tokens"],
        r["reasoning_tokens"],
        r["input_audio_tokens"],
        r["output_audio_tokens"],
        r["cost_nanos"],
        latency or 0,
        0 if latency is None else 1,
        r["requests"] if fallback else 0,
        r["cost_nanos"] if fallback else 0,
        r["cost_nanos"] if r["cost_source"] == "provider" else 0,
    ]


def _add(target: dict[Any, list[int]], key: Any, values: list[int]) -> None:
    acc = target.get(key)
    if acc is None:
        target[key] = list(values)
    else:
        for i, v in enumerate(values):
            acc[i] += v


def rollup_deltas(rows: Iterable[dict[str, Any]]) -> RollupDeltas:
    """Aggregate event rows (as made by ``event_row``) into rollup deltas."""
    d = RollupDeltas({}, {}, {}, {}, {})
    for r in rows:
        ts = r["ts_us"]
        dims = (
            r["org_id"],
            r["provider"],
            r["model"],
            r["agent"] or "",
            r["operation"] or "",
            r["tier"] or "",
            bool(r["success"]),
        )
        m = measures(r)
        _add(d.hour, (hour_bucket(ts), *dims), m)
        _add(d.day, (day_bucket(ts), *dims), m)
        small = [r["requests"], 1, r["input_tokens"], r["output_tokens"], r["cost_nanos"]]
        if r["session_id"]:
            skey = (r["org_id"], r["session_id"])
            s = d.sessions.get(skey)
            if s is None:
                d.sessions[skey] = [r["user_id"] or "", ts, ts, *small]
            else:
                if not s[0] and r["user_id"]:
                    s[0] = r["user_id"]
                s[1] = min(s[1], ts)
                s[2] = max(s[2], ts)
                for i, v in enumerate(small):
                    s[3 + i] += v
            _add(d.session_agents, (*skey, r["agent"] or ""), [r["requests"], r["cost_nanos"]])
        if r["user_id"]:
            _add(d.user_day, (day_bucket(ts), r["org_id"], r["user_id"]), small)
    return d
