"""Recompute rollups from raw events, report every difference, and repair it.

Normal operation never needs this (rollups are written with the events); it is the repair path
and the proof that rollups and raw events agree. Windows are whole UTC days and never reach back
past the retention cutoff, nor past the furthest any prune reached (``pruned_before_us``, which
a prune with a shorter retention may have moved later), because pruned raw events cannot be
recounted. For the same reason a session that began before that cutoff keeps its stored
figures: only some of its events are left to count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)

from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.retention import pruned_before_us
from llmledger.store.rows import US_PER_DAY, US_PER_HOUR, model_deltas

_KEY = ("bucket", *t.ROLLUP_DIMENSIONS)
# rendered inline, so the same expression in SELECT and GROUP BY is textually identical
_EMPTY: ColumnElement[str] = literal_column("''")


@dataclass
class RebuildReport:
    start_us: int
    end_us: int
    cutoff_us: int  # the first recountable microsecond: nothing before it was looked at
    differences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(len(v) for v in self.differences.values())


def _expected(
    conn: Connection, per_us: int, start_us: int, end_us: int
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    e = t.events.c
    bucket = (e.ts_us // per_us) * (per_us // 1_000_000)
    fallback = e.cost_source == "fallback"
    measures = (
        func.sum(e.requests),
        func.count(),
        *(
            func.sum(e[c])
            for c in (
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_5m_tokens",
                "cache_write_1h_tokens",
                "reasoning_tokens",
                "input_audio_tokens",
                "output_audio_tokens",
                "cost_nanos",
            )
        ),
        func.sum(func.coalesce(e.latency_ms, 0)),
        func.count(e.latency_ms),
        func.sum(case((fallback, e.requests), else_=0)),
        func.sum(case((fallback, e.cost_nanos), else_=0)),
        func.sum(case((e.cost_source == "provider", e.cost_nanos), else_=0)),
    )
    dims = (
        bucket.label("bucket"),
        e.org_id,
        e.provider,
        e.model,
        func.coalesce(e.agent, _EMPTY).label("agent"),
        func.coalesce(e.operation, _EMPTY).label("operation"),
        func.coalesce(e.tier, _EMPTY).label("tier"),
        e.success,
    )
    q = (
        select(*dims, *measures)
        .where(e.ts_us >= start_us, e.ts_us < end_us)
        .group_by(*dims[:1], *(d for d in dims[1:]))
    )
    out = {}
    for row in conn.execute(q):
        key = (int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))
        out[key] = tuple(int(v) for v in row[8:])
    return out


def _stored(
    conn: Connection, table: Table, start_s: int, end_s: int, keys: tuple[str, ...] = _KEY
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    c = table.c
    q = select(*(c[k] for k in keys), *(c[m] for m in t.ROLLUP_MEASURES)).where(
        c.bucket >= start_s, c.bucket < end_s
    )
    out = {}
    n = len(keys)
    for row in conn.execute(q):
        key = (int(row[0]), *row[1 : n - 1], bool(row[n - 1]))
        out[key] = tuple(int(v) for v in row[n:])
    return out


def _diff(
    expected: dict[Any, Any], stored: dict[Any, Any], keys: tuple[str, ...] = _KEY
) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(expected.keys() | stored.keys(), key=repr):
        want = expected.get(key, (0,) * len(t.ROLLUP_MEASURES))
        have = stored.get(key, (0,) * len(t.ROLLUP_MEASURES))
        if want != have:
            delta = {
                m: w - h for m, w, h in zip(t.ROLLUP_MEASURES, want, have, strict=True) if w != h
            }
            rows.append({**dict(zip(keys, key, strict=True)), "delta": delta})
    return rows


#: the sessions a rebuild recounts, in a temporary table: SQLite answers a join with it from
#: the events' session index, where ``(org_id, session_id) IN (...)`` scans the whole table
_touched = Table(
    "rebuild_sessions",
    MetaData(),
    Column("org_id", String(t.S), nullable=False),
    Column("session_id", String(t.S), nullable=False),
    PrimaryKeyConstraint("org_id", "session_id"),
    prefixes=["TEMPORARY"],
)
_SESSION_SUMS = (
    "first_us",
    "last_us",
    "requests",
    "events",
    "input_tokens",
    "output_tokens",
    "cost_nanos",
)


def _sessions(conn: Connection, start_us: int, end_us: int, cutoff_us: int) -> list[dict[str, Any]]:
    """Rebuild the sessions (and their agents) that have events in the window, from all of
    their raw events; sessions that reach back past the cutoff (their stored first event, or a
    raw event not yet pruned, is older) are left as they are. Returns the sessions that
    differed. The comparison runs in the database, so only the differences travel."""
    e, s, a, k = t.events.c, t.sessions.c, t.session_agents.c, _touched.c
    _touched.create(conn)
    conn.execute(
        insert(_touched).from_select(
            ["org_id", "session_id"],
            select(e.org_id, e.session_id)
            .where(e.ts_us >= start_us, e.ts_us < end_us, e.session_id.is_not(None))
            .distinct(),
        )
    )
    # their stored figures count events that are gone (or, not yet pruned, outside the window's
    # reach): recounting what is left would erase their history
    conn.execute(
        delete(_touched).where(
            or_(
                exists().where(
                    s.org_id == k.org_id, s.session_id == k.session_id, s.first_us < cutoff_us
                ),
                exists().where(
                    e.org_id == k.org_id, e.session_id == k.session_id, e.ts_us < cutoff_us
                ),
            )
        )
    )
    # ``|| ''`` keeps SQLite from probing the touched sessions for each event (a scan of every
    # event): it must walk the touched sessions and find their events by index
    their_events = _touched.join(
        t.events, and_(e.org_id == k.org_id.concat(""), e.session_id == k.session_id.concat(""))
    )
    user = func.min(case((func.coalesce(e.user_id, _EMPTY) == "", None), else_=e.user_id))
    recount = (
        select(
            k.org_id,
            k.session_id,
            func.min(e.ts_us).label("first_us"),
            func.max(e.ts_us).label("last_us"),
            func.sum(e.requests).label("requests"),
            func.count().label("events"),
            func.sum(e.input_tokens).label("input_tokens"),
            func.sum(e.output_tokens).label("output_tokens"),
            func.sum(e.cost_nanos).label("cost_nanos"),
            user.label("user_id"),
        )
        .select_from(their_events)
        .group_by(k.org_id, k.session_id)
        .subquery("recount")
    )
    r = recount.c
    stored = and_(s.org_id == r.org_id, s.session_id == r.session_id)
    differ = or_(s.org_id.is_(None), *(s[f] != r[f] for f in _SESSION_SUMS))
    diffs = [
        {
            "org_id": row.org_id,
            "session_id": row.session_id,
            **{f: int(row._mapping[f]) for f in _SESSION_SUMS},
            "user_id": row.user_id or "",
        }
        for row in conn.execute(
            select(recount).select_from(recount.outerjoin(t.sessions, stored)).where(differ)
        )
    ]
    for want in diffs:
        conn.execute(
            delete(t.sessions).where(s.org_id == want["org_id"], s.session_id == want["session_id"])
        )
    if diffs:
        conn.execute(t.sessions.insert(), diffs)
    conn.execute(
        delete(t.session_agents).where(
            tuple_(a.org_id, a.session_id).in_(select(k.org_id, k.session_id))
        )
    )
    agent = func.coalesce(e.agent, _EMPTY)
    conn.execute(
        insert(t.session_agents).from_select(
            ["org_id", "session_id", "agent", "requests", "cost_nanos"],
            select(k.org_id, k.session_id, agent, func.sum(e.requests), func.sum(e.cost_nanos))
            .select_from(their_events)
            .group_by(k.org_id, k.session_id, agent),
        )
    )
    _touched.drop(conn)
    return diffs


def _user_day(conn: Connection, start_us: int, end_us: int) -> int:
    e = t.events.c
    bucket = (e.ts_us // US_PER_DAY) * 86400
    q = (
        select(
            bucket.label("bucket"),
            e.org_id,
            e.user_id,
            func.sum(e.requests),
            func.count(),
            func.sum(e.input_tokens),
            func.sum(e.output_tokens),
            func.sum(e.cost_nanos),
        )
        .where(e.ts_us >= start_us, e.ts_us < end_us, e.user_id.is_not(None), e.user_id != "")
        .group_by(bucket, e.org_id, e.user_id)
    )
    rows = [
        {
            "bucket": int(r[0]),
            "org_id": r[1],
            "user_id": r[2],
            "requests": int(r[3]),
            "events": int(r[4]),
            "input_tokens": int(r[5]),
            "output_tokens": int(r[6]),
            "cost_nanos": int(r[7]),
        }
        for r in conn.execute(q)
    ]
    u = t.user_day.c
    conn.execute(
        delete(t.user_day).where(u.bucket >= start_us // 1_000_000, u.bucket < end_us // 1_000_000)
    )
    if rows:
        conn.execute(t.user_day.insert(), rows)
    return len(rows)


def _replace(
    conn: Connection,
    table: Table,
    keys: tuple[str, ...],
    rows_by_key: dict[tuple[Any, ...], tuple[int, ...]],
    start_s: int,
    end_s: int,
) -> None:
    c = table.c
    conn.execute(delete(table).where(and_(c.bucket >= start_s, c.bucket < end_s)))
    rows = [
        {**dict(zip(keys, k, strict=True)), **dict(zip(t.ROLLUP_MEASURES, v, strict=True))}
        for k, v in rows_by_key.items()
    ]
    for i in range(0, len(rows), 5000):
        conn.execute(table.insert(), rows[i : i + 5000])


def rebuild_rollups(
    conn: Connection, *, start_us: int, end_us: int, cutoff_us: int = 0, repair: bool = True
) -> RebuildReport:
    """Recompute hour/day rollups, sessions and user-days for whole UTC days in the window.

    Run it in a write transaction (``BEGIN IMMEDIATE`` on SQLite, which already keeps ingest
    out). On PostgreSQL it locks ``events`` against writes first: an event committed between
    the recount and the replacement would otherwise vanish from the rollups."""
    if repair and conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE events IN SHARE MODE"))
    # read after the lock: a prune deletes and moves the mark in one transaction. Both cutoffs
    # are day-aligned (see ``retention_cutoff_us``)
    cutoff_us = max(cutoff_us, pruned_before_us(conn))
    start = max(start_us // US_PER_DAY * US_PER_DAY, cutoff_us)
    end = -(-end_us // US_PER_DAY) * US_PER_DAY
    report = RebuildReport(start, max(start, end), cutoff_us)
    if end <= start:
        return report
    model_key = ("bucket", *t.MODEL_DIMENSIONS)
    open_from = open_days.open_from(conn, lock=True)
    for name, table, narrow_table, per in (
        ("rollup_hour", t.rollup_hour, t.rollup_hour_model, US_PER_HOUR),
        ("rollup_day", t.rollup_day, t.rollup_day_model, US_PER_DAY),
    ):
        expected = _expected(conn, per, start, end)
        if per == US_PER_DAY:  # open days have no day rows (see ``store.open_days``)
            expected = {k: v for k, v in expected.items() if k[0] < open_from}
        narrow = {k: tuple(v) for k, v in model_deltas(expected).items()}  # type: ignore[arg-type]
        for tname, tbl, want, keys in (
            (name, table, expected, _KEY),
            (f"{name}_model", narrow_table, narrow, model_key),
        ):
            stored = _stored(conn, tbl, start // 1_000_000, end // 1_000_000, keys)
            diff = _diff(want, stored, keys)
            report.differences[tname] = diff
            if diff and repair:
                _replace(conn, tbl, keys, want, start // 1_000_000, end // 1_000_000)
    if repair:
        report.differences["sessions"] = _sessions(conn, start, end, cutoff_us)
        _user_day(conn, start, end)
    return report
