"""Re-pricing stored events with the prices in force at their timestamps.

Events are read in (timestamp, id) order, a chunk per transaction. In each transaction the
events whose price changes are updated and every rollup they count in (hour, day, sessions,
session agents, user-days) gets the exact difference: the old rows' measures taken out and the
new ones put in, so only cost (and the fallback/provider cost measures) move. A re-price that
stops half way therefore never leaves rollups disagreeing with events. Provider-reported costs
stay as reported; events already pruned by retention are not there to re-price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, tuple_

from llmledger.pricing.convert import iso
from llmledger.pricing.cost import Pricer, StoredUsage
from llmledger.pricing.resolve import PriceBook
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.dialect import flavor
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import (
    EVENT_COLUMNS,
    US_PER_DAY,
    RollupDeltas,
    from_us,
    rollup_deltas,
    to_us,
)
from llmledger.store.write import apply_deltas

_I = {name: i for i, name in enumerate(EVENT_COLUMNS)}
_TS, _PROVIDER, _MODEL = _I["ts_us"], _I["provider"], _I["model"]
#: token counts then ``requests``: the fields of ``StoredUsage``, in its order
_USAGE = slice(_I["input_tokens"], _I["requests"] + 1)
assert EVENT_COLUMNS[_USAGE] == tuple(StoredUsage.__dataclass_fields__)
_COST, _SOURCE, _PRICE = (
    _I["cost_nanos"],
    _I["cost_source"],
    _I["price_id"],
)
_COLUMNS = (t.events.c.id, *(t.events.c[name] for name in EVENT_COLUMNS))


@dataclass(frozen=True)
class RepriceScope:
    """Which stored events to re-price: ``[start_us, end_us)``, optionally one organisation
    and one model (every name that prices as the same catalog entry) or provider."""

    start_us: int
    end_us: int
    org_id: str | None = None
    model: str | None = None
    provider: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "startDate": iso(from_us(self.start_us)),
            "endDate": iso(from_us(self.end_us)),
            "orgId": self.org_id,
            "model": self.model,
            "provider": self.provider,
        }


@dataclass
class RepriceProgress:
    total: int = 0
    scanned: int = 0
    changed: int = 0
    cost_before_nanos: int = 0
    delta_nanos: int = 0
    cursor: tuple[int, int] = (-(2**62), 0)  # the last (ts_us, id) done
    done: bool = field(default=False)


def names_in_scope(
    conn: Connection, scope: RepriceScope, book: PriceBook
) -> list[tuple[str, str]] | None:
    """The (provider, model) names the scope covers, ``None`` for all of them."""
    if scope.model is None and scope.provider is None:
        return None
    d = open_days.model_days().c
    q = select(d.provider, d.model).distinct()
    q = q.where(
        d.bucket >= scope.start_us // US_PER_DAY * 86400, d.bucket < scope.end_us // 1_000_000
    )
    if scope.org_id is not None:
        q = q.where(d.org_id == scope.org_id)
    names = []
    for provider, model in conn.execute(q):
        if scope.provider is not None and provider.lower() != scope.provider.lower():
            continue
        if scope.model is not None and model.lower() != scope.model.lower():
            entry = book.resolve(provider, scope.model)
            if entry is None or entry not in book.candidates(provider, model):
                continue
        names.append((provider, model))
    return names


def _where(scope: RepriceScope, names: list[tuple[str, str]] | None) -> list[Any]:
    e = t.events.c
    clauses: list[Any] = [
        e.ts_us >= scope.start_us,
        e.ts_us < scope.end_us,
        e.cost_source != "provider",
    ]
    if scope.org_id is not None:
        clauses.append(e.org_id == scope.org_id)
    if names is not None:
        clauses.append(tuple_(e.provider, e.model).in_(names))
    return clauses


def count_in_scope(
    conn: Connection, scope: RepriceScope, names: list[tuple[str, str]] | None
) -> int:
    if names == []:
        return 0
    q = select(func.count()).select_from(t.events).where(*_where(scope, names))
    return int(conn.execute(q).scalar_one())


def net_deltas(
    old: list[tuple[Any, ...]], new: list[tuple[Any, ...]], *, open_from: int
) -> RollupDeltas:
    """Rollup deltas that turn ``old`` event rows into ``new`` ones (same events, new prices):
    only the measures that differ are left, entries that net to nothing are dropped."""
    d = rollup_deltas(new, open_from=open_from)
    minus = rollup_deltas(old, sign=-1, open_from=open_from)
    for name in ("hour", "day", "session_agents", "user_day"):
        target: dict[Any, list[int]] = getattr(d, name)
        for key, values in getattr(minus, name).items():
            acc = target.setdefault(key, [0] * len(values))
            for i, v in enumerate(values):
                acc[i] += v
        setattr(d, name, {k: v for k, v in target.items() if any(v)})
    for key, values in minus.sessions.items():
        acc = d.sessions[key]  # the same events: every session is in both
        for i in range(3, len(values)):
            acc[i] += values[i]
    d.sessions = {k: v for k, v in d.sessions.items() if any(v[3:])}
    return d


def reprice_chunk(
    conn: Connection,
    pricer: Pricer,
    scope: RepriceScope,
    names: list[tuple[str, str]] | None,
    progress: RepriceProgress,
    *,
    limit: int,
) -> None:
    """Re-price the next ``limit`` events after ``progress.cursor`` in the caller's
    transaction; sets ``progress.done`` when none are left."""
    e = t.events.c
    last_ts, last_id = progress.cursor
    after = or_(e.ts_us > last_ts, and_(e.ts_us == last_ts, e.id > last_id))
    q = (
        select(*_COLUMNS)
        .where(*_where(scope, names), after)
        .order_by(e.ts_us, e.id)
        .limit(limit)
        .with_for_update()
    )
    rows = conn.execute(q).all()
    if len(rows) < limit:
        progress.done = True
    if not rows:
        return
    old: list[tuple[Any, ...]] = []
    new: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for r in rows:
        row = tuple(r[1:])
        usage = StoredUsage(*row[_USAGE])
        priced = pricer.price_usage(row[_PROVIDER], row[_MODEL], from_us(row[_TS]), usage)
        progress.scanned += 1
        progress.cost_before_nanos += row[_COST]
        if (priced.cost_nanos, priced.cost_source, priced.price_id) == (
            row[_COST],
            row[_SOURCE],
            row[_PRICE],
        ):
            continue
        changed = list(row)
        changed[_COST], changed[_SOURCE], changed[_PRICE] = (
            priced.cost_nanos,
            priced.cost_source,
            priced.price_id,
        )
        old.append(row)
        new.append(tuple(changed))
        updates.append((priced.cost_nanos, priced.cost_source, priced.price_id, r[0]))
        progress.changed += 1
        progress.delta_nanos += priced.cost_nanos - row[_COST]
    progress.cursor = (rows[-1][1 + _TS], rows[-1][0])
    if updates:
        ph = flavor(conn).placeholder
        conn.exec_driver_sql(
            f"UPDATE events SET cost_nanos = {ph}, cost_source = {ph}, price_id = {ph} "
            f"WHERE id = {ph}",
            updates,
        )
        apply_deltas(conn, net_deltas(old, new, open_from=open_days.open_from(conn, lock=True)))


def reprice(
    engine: Engine,
    pricer: Pricer,
    scope: RepriceScope,
    *,
    chunk: int = 2000,
    progress: RepriceProgress | None = None,
    on_chunk: Callable[[Connection, RepriceProgress], None] | None = None,
) -> RepriceProgress:
    """Re-price every event in ``scope``, a chunk per transaction. ``on_chunk`` runs inside
    each chunk's transaction (a job records its progress there, so it commits with it)."""
    progress = progress or RepriceProgress()
    with engine.connect() as conn:
        names = names_in_scope(conn, scope, pricer.book)
        progress.total = count_in_scope(conn, scope, names)
    if names == []:
        progress.done = True
    while not progress.done:
        with engine.connect() as conn:
            begin_immediate(conn)
            with conn.begin():
                reprice_chunk(conn, pricer, scope, names, progress, limit=chunk)
                if on_chunk is not None:
                    on_chunk(conn, progress)
    return progress


def day_range(start: dt.date, end: dt.date) -> tuple[int, int]:
    """Whole UTC days ``start`` .. ``end`` (inclusive) as ``[start_us, end_us)``."""
    first = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    last = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    return to_us(first), to_us(last)
