"""Turning validated events into stored rows and rollup deltas (pure functions, no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import add
from typing import Any

from llmledger.events import ATTRIBUTION_FIELDS, TOKEN_FIELDS

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)


def to_us(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact, no float)."""
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def hour_bucket(ts_us: int) -> int:
    return ts_us // US_PER_HOUR * 3600


def day_bucket(ts_us: int) -> int:
    return ts_us // US_PER_DAY * 86400


#: column order of event rows (``ingest.prepare`` makes them; the writer inserts them as they are)
EVENT_COLUMNS = (
    "event_id",
    "ts_us",
    *ATTRIBUTION_FIELDS,
    "provider",
    "model",
    *TOKEN_FIELDS,
    "requests",
    "latency_ms",
    "ttft_ms",
    "success",
    "error_type",
    "status_code",
    "request_id",
    "stream",
    "cost_nanos",
    "cost_source",
    "price_id",
    "metadata",
    "received_us",
)
_I = {name: i for i, name in enumerate(EVENT_COLUMNS)}
TS, ORG, USER, AGENT, SESSION = (
    _I["ts_us"],
    _I["org_id"],
    _I["user_id"],
    _I["agent"],
    _I["session_id"],
)
OPERATION, TIER, PROVIDER, MODEL = _I["operation"], _I["tier"], _I["provider"], _I["model"]
INPUT, OUTPUT, REQUESTS, LATENCY = (
    _I["input_tokens"],
    _I["output_tokens"],
    _I["requests"],
    _I["latency_ms"],
)
SUCCESS, COST, SOURCE = _I["success"], _I["cost_nanos"], _I["cost_source"]
_TOKENS = slice(_I["input_tokens"], _I["output_audio_tokens"] + 1)


@dataclass(slots=True)
class RollupDeltas:
    """Additive changes to every rollup that a set of events touches."""

    hour: dict[tuple[Any, ...], list[int]]
    day: dict[tuple[Any, ...], list[int]]
    sessions: dict[tuple[str, str], list[Any]]
    session_agents: dict[tuple[str, str, str], list[int]]
    user_day: dict[tuple[int, str, str], list[int]]


def measures(r: Sequence[Any]) -> list[int]:
    """The rollup measures of one event row, in ``ROLLUP_MEASURES`` order."""
    latency = r[LATENCY]
    cost = r[COST]
    source = r[SOURCE]
    requests = r[REQUESTS]
    return [
        requests,
        1,
        *r[_TOKENS],
        cost,
        latency or 0,
        0 if latency is None else 1,
        requests if source == "fallback" else 0,
        cost if source == "fallback" else 0,
        cost if source == "provider" else 0,
    ]


def _add(target: dict[Any, list[int]], key: Any, values: list[int]) -> None:
    acc = target.get(key)
    if acc is None:
        target[key] = values
    else:
        acc[:] = map(add, acc, values)


def model_deltas(wide: dict[tuple[Any, ...], list[int]]) -> dict[tuple[Any, ...], list[int]]:
    """Wide rollup deltas (bucket, org, provider, model, agent, operation, tier, success)
    summed over agent, operation and tier: the deltas of the narrow rollups."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for (bucket, org, provider, model, _a, _o, _t, success), values in wide.items():
        _add(out, (bucket, org, provider, model, success), list(values))
    return out


def merge_deltas(parts: Sequence[RollupDeltas]) -> RollupDeltas:
    """The deltas of several batches as one, so that a group commit adds each rollup row once.
    The parts are left as they were (a group that fails is written again batch by batch)."""
    if len(parts) == 1:
        return parts[0]
    out = RollupDeltas(
        dict(parts[0].hour),
        dict(parts[0].day),
        dict(parts[0].sessions),
        dict(parts[0].session_agents),
        dict(parts[0].user_day),
    )
    for d in parts[1:]:
        for target, more in (
            (out.hour, d.hour),
            (out.day, d.day),
            (out.session_agents, d.session_agents),
            (out.user_day, d.user_day),
        ):
            for key, values in more.items():
                acc = target.get(key)
                target[key] = values if acc is None else list(map(add, acc, values))
        sessions = out.sessions
        for key, s in d.sessions.items():
            acc = sessions.get(key)
            if acc is None:
                sessions[key] = s
            else:
                sessions[key] = [
                    acc[0] or s[0],
                    min(acc[1], s[1]),
                    max(acc[2], s[2]),
                    *map(add, acc[3:], s[3:]),
                ]
    return out


def rollup_deltas(rows: Iterable[Sequence[Any]], *, open_from: int, sign: int = 1) -> RollupDeltas:
    """Aggregate event rows (as ``ingest.prepare`` makes them) into rollup deltas; ``sign=-1`` gives
    the deltas that take those events out again. The daily deltas cover only the days before
    ``open_from``, the first open day (see ``store.open_days``).

    This runs for every ingested event, so it is written for speed: one dictionary step per
    table per event, and the daily rollup summed from the hourly one afterwards (a batch has
    fewer hourly rows than events)."""
    d = RollupDeltas({}, {}, {}, {}, {})
    hour, sessions, agents, user_day = d.hour, d.sessions, d.session_agents, d.user_day
    one = sign
    for r in rows:
        ts = r[TS]
        org = r[ORG]
        agent = r[AGENT] or ""
        m = measures(r)
        if sign != 1:
            m = [sign * v for v in m]
        requests, inp, out, cost = m[0], m[2], m[3], m[10]
        key = (
            ts // US_PER_HOUR * 3600,
            org,
            r[PROVIDER],
            r[MODEL],
            agent,
            r[OPERATION] or "",
            r[TIER] or "",
            bool(r[SUCCESS]),
        )
        acc = hour.get(key)
        if acc is None:
            hour[key] = m
        else:
            acc[:] = map(add, acc, m)
        user = r[USER]
        session = r[SESSION]
        if session:
            skey = (org, session)
            s = sessions.get(skey)
            if s is None:
                sessions[skey] = [user or "", ts, ts, requests, one, inp, out, cost]
            else:
                if not s[0] and user:
                    s[0] = user
                if ts < s[1]:
                    s[1] = ts
                if ts > s[2]:
                    s[2] = ts
                s[3] += requests
                s[4] += one
                s[5] += inp
                s[6] += out
                s[7] += cost
            akey = (org, session, agent)
            a = agents.get(akey)
            if a is None:
                agents[akey] = [requests, cost]
            else:
                a[0] += requests
                a[1] += cost
        if user:
            ukey = (ts // US_PER_DAY * 86400, org, user)
            u = user_day.get(ukey)
            if u is None:
                user_day[ukey] = [requests, one, inp, out, cost]
            else:
                u[0] += requests
                u[1] += one
                u[2] += inp
                u[3] += out
                u[4] += cost
    day = d.day
    for (bucket, *dims), values in hour.items():
        if bucket < open_from:
            _add(day, (bucket // 86400 * 86400, *dims), list(values))
    return d
