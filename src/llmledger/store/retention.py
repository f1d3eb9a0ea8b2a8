"""Retention: raw events older than the retention are deleted; rollups and sessions stay."""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, select

from llmledger.store import tables as t
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import US_PER_DAY


def retention_cutoff_us(now_us: int, retention_days: int) -> int:
    """The first kept microsecond: whole UTC days, so a day is either fully kept or fully gone."""
    return (now_us - retention_days * US_PER_DAY) // US_PER_DAY * US_PER_DAY


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
                ids = select(e.c.id).where(e.c.ts_us < cutoff).limit(chunk).scalar_subquery()
                deleted = conn.execute(delete(e).where(e.c.id.in_(ids))).rowcount
        total += deleted
        if deleted < chunk:
            return total
