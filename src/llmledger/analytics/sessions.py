"""Sessions (``/sessions``) and one session's requests in order (``/sessions/{sessionId}``).

A session is listed when it was active in the range and matches the filters; its figures are
always the whole session's (from ``sessions``, kept for ever). Organisation, user (the
session's user) and agent (one the session used) are answered from ``sessions`` and
``session_agents``; any other filter needs the raw events of the range (a session matches when
one of its events in the range does).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from sqlalchemy import Connection, Select, and_, exists, func, or_, select, tuple_

from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters
from llmledger.analytics.requests import COLUMNS, event_json, event_name
from llmledger.analytics.shown import shown
from llmledger.analytics.source import raw_where
from llmledger.analytics.window import Window, iso
from llmledger.money import nanos_to_float
from llmledger.store import tables as t

SessionSort = Literal["cost", "requests", "duration"]

#: most requests one session's detail lists (a runaway loop can make tens of thousands)
MAX_SESSION_REQUESTS = 5000


def _walk_by_cost(conn: Connection, window: Window, filters: Filters, limit: int) -> bool:
    """Whether to find the costliest sessions by walking the cost index from the top (and
    checking the range as it goes) rather than sorting every session of the range.

    Walking wins by orders of magnitude when the range holds many sessions (the top ones are
    found within the first few hundred entries) and loses badly when it holds few, so the
    sessions ending in or after the range are counted first, up to the number that makes the
    walk worth it (a short covering index range).
    A user or agent filter can make matches rare however full the range is: no walk then.
    """
    if filters.user_id is not None or filters.agent is not None:
        return False
    s = t.sessions.c
    enough = 100 * limit
    first = select(s.last_us).where(s.last_us >= window.start_us).limit(enough).subquery()
    n = conn.execute(select(func.count()).select_from(first)).scalar_one()
    return int(n) >= enough


def _listed(window: Window, filters: Filters, *, walk: bool = False) -> tuple[Select, str]:
    s = t.sessions.c
    q = select(t.sessions)
    if filters.org_id is not None:
        q = q.where(s.org_id == filters.org_id)
    raw_only = ("provider", "model", "operation", "tier", "success")
    if all(getattr(filters, name) is None for name in raw_only):
        # "+ 0" keeps the planner off the last_us index, so it walks the cost index instead
        last = s.last_us + 0 if walk else s.last_us
        q = q.where(last >= window.start_us, s.first_us < window.end_us)
        if filters.user_id is not None:
            q = q.where(s.user_id == filters.user_id)
        if filters.agent is not None:
            a = t.session_agents.c
            q = q.where(
                exists().where(
                    a.org_id == s.org_id, a.session_id == s.session_id, a.agent == filters.agent
                )
            )
        return q, "sessions"
    e = t.events.c
    matching = raw_where(
        select(e.org_id, e.session_id).where(
            e.ts_us >= window.start_us, e.ts_us < window.end_us, e.session_id.is_not(None)
        ),
        filters,
    ).distinct()
    return q.where(tuple_(s.org_id, s.session_id).in_(matching)), "events"


def _agents(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    a = t.session_agents.c
    out: dict[tuple[str, str], list[Any]] = defaultdict(list)
    by_org: dict[str, list[str]] = defaultdict(list)
    for org, session in keys:
        by_org[org].append(session)
    if not by_org:
        return out
    # (org = ? AND session IN (...)) OR ...: a row-value IN renders as "IN (VALUES ...)" on
    # SQLite, which scans the whole table instead of using the key
    q = (
        select(a.org_id, a.session_id, a.agent, a.requests, a.cost_nanos)
        .where(or_(*(and_(a.org_id == o, a.session_id.in_(ids)) for o, ids in by_org.items())))
        .order_by(a.cost_nanos.desc(), a.agent)
    )
    for r in conn.execute(q):
        out[(r.org_id, r.session_id)].append(
            {
                "agent": r.agent or None,
                "requests": int(r.requests),
                "costUsd": nanos_to_float(int(r.cost_nanos)),
            }
        )
    return out


def _session_name(r: Any) -> str:
    return f"session {r.session_id!r} of organisation {r.org_id!r}"


def _session_json(r: Any, agents: list[Any]) -> dict[str, Any]:
    return {
        "sessionId": r.session_id,
        "orgId": r.org_id or None,
        "userId": r.user_id or None,
        "agents": agents,
        "costUsd": nanos_to_float(int(r.cost_nanos)),
        "costNanos": int(r.cost_nanos),
        "requests": int(r.requests),
        "inputTokens": int(r.input_tokens),
        "outputTokens": int(r.output_tokens),
        "firstSeen": iso(r.first_us),
        "lastSeen": iso(r.last_us),
        "durationMinutes": round((r.last_us - r.first_us) / 60_000_000, 2),
    }


def session_list(
    conn: Connection,
    *,
    window: Window,
    filters: Filters,
    sort_by: SessionSort = "cost",
    min_cost_nanos: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    s = t.sessions.c
    walk = sort_by == "cost" and _walk_by_cost(conn, window, filters, limit)
    q, kind = _listed(window, filters, walk=walk)
    if min_cost_nanos:
        q = q.where(s.cost_nanos >= min_cost_nanos)
    key = {"cost": s.cost_nanos, "requests": s.requests, "duration": s.last_us - s.first_us}
    q = q.order_by(key[sort_by].desc(), s.org_id, s.session_id).limit(limit)
    rows = conn.execute(q).all()
    agents = _agents(conn, [(r.org_id, r.session_id) for r in rows])
    return {
        **window.as_json(),
        "sortBy": sort_by,
        "sessions": shown(
            rows, lambda r: _session_json(r, agents[(r.org_id, r.session_id)]), what=_session_name
        ),
        "answeredFrom": kind,
    }


def session_detail(
    conn: Connection, *, session_id: str, org_id: str | None
) -> dict[str, Any] | None:
    """The session's summary and its requests in time order; ``None`` when there is none (or
    when it cannot be shown)."""
    s = t.sessions.c
    q = select(t.sessions).where(s.session_id == session_id)
    if org_id is not None:
        q = q.where(s.org_id == org_id)
    found = conn.execute(q.limit(2)).all()
    if not found:
        return None
    if len(found) > 1:
        raise ParamError("orgId", "this session id exists in several organisations; give orgId")
    row = found[0]
    agents = _agents(conn, [(row.org_id, row.session_id)])
    summary = shown(
        [row], lambda r: _session_json(r, agents[(r.org_id, r.session_id)]), what=_session_name
    )
    if not summary:
        return None
    e = t.events.c
    events = conn.execute(
        select(*(e[c] for c in COLUMNS))
        .where(e.org_id == row.org_id, e.session_id == session_id)
        .order_by(e.ts_us, e.id)
        .limit(MAX_SESSION_REQUESTS + 1)
    ).all()
    return {
        "session": summary[0],
        "requestsTruncated": len(events) > MAX_SESSION_REQUESTS,
        "requests": shown(events[:MAX_SESSION_REQUESTS], event_json, what=event_name),
    }
