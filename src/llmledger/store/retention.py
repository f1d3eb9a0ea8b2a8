"""Retention: raw events older than the retention are deleted; rollups and sessions stay.

A prune records how far it reached (``pruned_before_us``), in the transactions that delete:
the days before that mark can never be recounted from raw events, whatever the retention is
later set to, so a rebuild never reaches back past it (see ``store.rebuild``).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, delete, func, select, update

from llmledger.store import tables as t
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import US_PER_DAY

#: the ``app_settings`` key holding the first microsecond no prune has deleted events before
PRUNED_BEFORE = "events_pruned_before_us"


def retention_cutoff_us(now_us: int, retention_days: int) -> int:
    """The first kept microsecond: whole UTC days, so a day is either fully kept or fully gone."""
    return (now_us - retention_days * US_PER_DAY) // US_PER_DAY * US_PER_DAY


def pruned_before_us(conn: Connection) -> int:
    """Raw events before this were pruned (0: never); a day start."""
    c = t.app_settings.c
    found = conn.execute(select(c.value).where(c.key == PRUNED_BEFORE)).scalar_one_or_none()
    return 0 if found is None else int(found)


def _record_pruned_before(conn: Connection, cutoff_us: int, now_us: int) -> None:
    """Move the mark to ``cutoff_us`` (never back: a later prune with a longer retention
    cannot bring deleted events back)."""
    if pruned_before_us(conn) >= cutoff_us:
        return
    c = t.app_settings.c
    moved = conn.execute(
        update(t.app_settings)
        .where(c.key == PRUNED_BEFORE)
        .values(value=cutoff_us, updated_us=now_us)
    )
    if moved.rowcount == 0:
        conn.execute(
            t.app_settings.insert().values(key=PRUNED_BEFORE, value=cutoff_us, updated_us=now_us)
        )


def prune(
    engine: Engine, *, now_us: int, retention_days: int, dry_run: bool = False, chunk: int = 20_000
) -> int:
    """Delete raw events before the cutoff in small transactions; returns how many."""
    cutoff = retention_cutoff_us(now_us, retention_days)
    e = t.events
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(e.c.ts_us < cutoff)).scalar_one())
    total = 0
    while True:
        with engine.connect() as conn:
            begin_immediate(conn)
            with conn.begin():
                # in the deleting transaction: a rebuild sees the deletion and the mark together
                _record_pruned_before(conn, cutoff, now_us)
                ids = select(e.c.id).where(e.c.ts_us < cutoff).limit(chunk).scalar_subquery()
                deleted = conn.execute(delete(e).where(e.c.id.in_(ids))).rowcount
        total += deleted
        if deleted < chunk:
            return total
