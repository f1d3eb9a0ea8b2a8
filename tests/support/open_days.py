"""Setting a test database's first open day (see ``llmledger.store.open_days``)."""

from __future__ import annotations

from sqlalchemy import Engine

from llmledger.store import open_days
from llmledger.store import tables as t


def reopen(engine: Engine, day_s: int) -> int:
    """Open the database from ``day_s`` (a UTC day start, seconds) on: later than the mark,
    a fold; earlier, as a fold that had not run yet would have left it (the day rows from
    there on go; the hourly rows hold the same sums)."""
    with engine.begin() as conn:
        open_days.fold(conn, day_s)
        for table in (t.rollup_day, t.rollup_day_model):
            conn.execute(table.delete().where(table.c.bucket >= day_s))
        conn.execute(t.rollup_state.update().values(open_from=day_s))
    return day_s
