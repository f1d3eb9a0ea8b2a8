"""Open days: the day rollups hold closed days only.

Every event is added to the hourly rollups (``rollup_hour``, ``rollup_hour_model``) in the
transaction that stores it. The daily rollups (``rollup_day``, ``rollup_day_model``) hold only
the days before a mark, ``open_from`` (a UTC day start, in ``rollup_state``); for the days from
the mark on (today, as a rule) the hourly rows are the only copy, and readers sum them by day.
Live traffic is nearly all for today, so it costs one rollup row per event less to write: the
day row, as dear as the hour row (measured in docs/performance.md).

Once a day is over, ``fold`` sums its hourly rows into the daily rollups, one statement per
table, and moves the mark in the same transaction; writers fold when their clock passes the
mark, so nothing has to be scheduled. An event for a closed day (a backfill, a late retry) is
added to both grains as it is written. Whether or not the fold has run, every day is complete
at one grain: readers ask for the mark and answer days before it from the daily rollups, the
others from the hourly ones.

Writers compute a batch's deltas for the mark they knew when it was prepared; the transaction
reads the mark (PostgreSQL: ``FOR SHARE``, which a fold's ``FOR UPDATE`` waits for) and
recomputes the deltas when it has moved.
"""

from __future__ import annotations

from contextlib import nullcontext

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Subquery,
    func,
    insert,
    literal_column,
    select,
    union_all,
    update,
)

from llmledger.store import tables as t
from llmledger.store.checkpoint import checkpoints_deferred
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import US_PER_DAY

DAY_S = 86400
_STATE = 1


def open_from(conn: Connection, *, lock: bool = False) -> int:
    """The first open day (seconds). ``lock``: hold it against a fold until the transaction
    ends (PostgreSQL; SQLite has one writer at a time)."""
    c = t.rollup_state.c
    q = select(c.open_from).where(c.id == _STATE)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update(read=True)
    return int(conn.execute(q).scalar_one())


def model_days() -> Subquery:
    """The narrow rollups over all time, closed and open days alike: ``rollup_day_model`` rows
    for the days before the mark, ``rollup_hour_model`` rows from it on (their ``bucket`` is an
    hour start within the day). For questions about which models were seen when."""
    mark = select(t.rollup_state.c.open_from).where(t.rollup_state.c.id == _STATE)
    d, h = t.rollup_day_model.c, t.rollup_hour_model.c
    names = [c.name for c in t.rollup_day_model.columns]
    closed = select(*(d[n] for n in names)).where(d.bucket < mark.scalar_subquery())
    open_ = select(*(h[n] for n in names)).where(h.bucket >= mark.scalar_subquery())
    return union_all(closed, open_).subquery("model_days")


def day_bucket(bucket: ColumnElement[int]) -> ColumnElement[int]:
    """The UTC day start of an hour bucket (seconds), in SQL. The divisor is rendered inline, so
    the expression reads the same in SELECT and GROUP BY (PostgreSQL matches them as text)."""
    return bucket - bucket % literal_column(str(DAY_S))


def day_of(now_us: int) -> int:
    """The UTC day start (seconds) of ``now_us``."""
    return now_us // US_PER_DAY * DAY_S


def fold(conn: Connection, until: int) -> int:
    """Inside the caller's write transaction: add the hourly rows of the open days before
    ``until`` (a day start, seconds) to the daily rollups and move the mark there. Returns the
    mark, which never moves back."""
    c = t.rollup_state.c
    q = select(c.open_from).where(c.id == _STATE)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    mark = int(conn.execute(q).scalar_one())
    if until <= mark:
        return mark
    for hourly, daily in (
        (t.rollup_hour, t.rollup_day),
        (t.rollup_hour_model, t.rollup_day_model),
    ):
        h = hourly.c
        dims = [h[d] for d in (col.name for col in daily.primary_key.columns) if d != "bucket"]
        day = day_bucket(h.bucket)
        sums = [func.sum(h[m]) for m in t.ROLLUP_MEASURES]
        rows = (
            select(day.label("bucket"), *dims, *sums)
            .where(h.bucket >= mark, h.bucket < until)
            .group_by(day, *dims)
        )
        names = ["bucket", *(d.name for d in dims), *t.ROLLUP_MEASURES]
        conn.execute(insert(daily).from_select(names, rows))
    conn.execute(update(t.rollup_state).where(c.id == _STATE).values(open_from=until))
    return until


def fold_closed_days(engine: Engine, now_us: int, *, defer_checkpoints: bool = False) -> int:
    """Fold every day before today (by ``now_us``) in a write transaction of its own, when
    there is one to fold; returns the mark. ``defer_checkpoints``: the commit leaves the WAL
    checkpoint to a ``Checkpointer`` (SQLite, when a writer runs one)."""
    today = day_of(now_us)
    with engine.connect() as conn:
        mark = open_from(conn)
    if mark >= today:
        return mark
    with (
        engine.connect() as conn,
        checkpoints_deferred(conn) if defer_checkpoints else nullcontext(),
    ):
        begin_immediate(conn)
        with conn.begin():
            return fold(conn, today)
