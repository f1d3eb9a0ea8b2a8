"""Open days: the day rollups hold closed days only; the hourly rows answer the rest."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import event, func, insert, select, text

from llmledger.analytics.filters import Filters
from llmledger.analytics.source import aggregate
from llmledger.events import UsageEvent
from llmledger.ingest.writer import EventWriter
from llmledger.ledger import Ledger
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.rebuild import rebuild_rollups
from llmledger.store.rows import to_us
from llmledger.store.write import group_delta_rows
from tests.support.open_days import reopen as open_at

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def yesterday() -> dt.datetime:
    """The day these tests keep open: wholly past, so its events are never in the future."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) - DAY


def events(at: dt.datetime, n: int, *, spacing: dt.timedelta = dt.timedelta(0)) -> list:
    return [
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=at + i * spacing,
            provider="openai",
            model="gpt-4o",
            org_id="acme",
            agent="CIA",
            session_id="s1",
            input_tokens=1000 + i,
            output_tokens=100,
        )
        for i in range(n)
    ]


def reopen(ledger: Ledger, day: dt.datetime) -> int:
    return open_at(ledger.engine, int(day.timestamp()))


def day_costs(ledger: Ledger, table) -> dict[int, int]:
    c = table.c
    day = c.bucket - c.bucket % 86400
    with ledger.engine.connect() as conn:
        q = select(day, func.sum(c.cost_nanos)).group_by(day)
        return {int(d): int(v) for d, v in conn.execute(q)}


def raw_day_costs(ledger: Ledger) -> dict[int, int]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(t.events.c.ts_us, t.events.c.cost_nanos)).all()
    out: dict[int, int] = {}
    for ts, cost in rows:
        d = ts // 86_400_000_000 * 86400
        out[d] = out.get(d, 0) + cost
    return out


def mark(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return open_days.open_from(conn)


def writer_at(ledger: Ledger, now: dt.datetime) -> EventWriter:
    """A writer whose clock reads ``now`` (a process that lives into the next day)."""
    return EventWriter(ledger.engine, ledger.pricer, clock_us=lambda: to_us(now))


def closed(costs: dict[int, int], until: int) -> dict[int, int]:
    return {d: v for d, v in costs.items() if d < until}


def by_day_read(ledger: Ledger) -> dict[int, int]:
    """What analytics answers, by day, over all time."""
    with ledger.engine.connect() as conn:
        rows, kind = aggregate(
            conn,
            [(0, 3_999_996_000 * 10**6)],
            Filters(),
            dims=("bucket",),
            measures=("cost_nanos",),
        )
    assert kind == "rollup"
    out: dict[int, int] = {}
    for r in rows:
        out[r["bucket"]] = out.get(r["bucket"], 0) + r["cost_nanos"]
    return out


def test_open_days_have_hour_rows_only_and_reads_sum_them_by_day(ledger):
    d = yesterday()
    day0 = reopen(ledger, d)
    w = writer_at(ledger, d + 23 * HOUR)
    w.write(events(d, 5, spacing=dt.timedelta(minutes=7)))
    w.write(events(d - 3 * DAY, 4, spacing=2 * HOUR))
    raw = raw_day_costs(ledger)
    assert mark(ledger) == day0
    assert day_costs(ledger, t.rollup_hour) == raw
    assert day_costs(ledger, t.rollup_hour_model) == raw
    # the day rollups hold the closed day only
    old = day0 - 3 * 86400
    assert day_costs(ledger, t.rollup_day) == closed(raw, day0) == {old: raw[old]}
    assert day_costs(ledger, t.rollup_day_model) == closed(raw, day0)
    # and every day, open or closed, reads back whole, its bucket a day
    assert by_day_read(ledger) == raw


def test_a_writer_that_lives_into_the_next_day_folds_the_last_one(ledger):
    d = yesterday()
    day0 = reopen(ledger, d)
    writer_at(ledger, d + 23 * HOUR).write(events(d, 6, spacing=3 * HOUR))
    before = by_day_read(ledger)
    assert day_costs(ledger, t.rollup_day) == {}
    # the next day's first batch folds the day before, then is written: a late event for the
    # day just closed goes to both grains
    writer_at(ledger, d + DAY + HOUR).write(events(d + 20 * HOUR, 2))
    assert mark(ledger) == day0 + 86400
    raw = raw_day_costs(ledger)
    assert raw[day0] > before[day0]
    assert day_costs(ledger, t.rollup_day) == raw == day_costs(ledger, t.rollup_hour)
    assert day_costs(ledger, t.rollup_day_model) == raw
    assert by_day_read(ledger) == raw
    with ledger.engine.connect() as conn:
        report = rebuild_rollups(conn, start_us=0, end_us=int(4e15), repair=False)
    assert report.changed == 0


def test_a_batch_prepared_before_a_fold_is_counted_for_the_day_it_closed(ledger):
    d = yesterday()
    day0 = reopen(ledger, d)
    w = writer_at(ledger, d + 23 * HOUR)
    early = w.prepare(events(d + 2 * HOUR, 3))
    assert early.open_from == day0
    assert early.deltas.day == {}  # its day is open
    open_days.fold_closed_days(ledger.engine, to_us(d + DAY))
    w.start()
    w.submit(early).result(timeout=30)
    w.close()
    raw = raw_day_costs(ledger)
    assert day_costs(ledger, t.rollup_day) == raw  # the writer counted it again for the fold
    assert day_costs(ledger, t.rollup_day_model) == raw


def test_a_group_prepared_across_a_fold_leaves_its_deltas_to_the_writer(ledger):
    d = yesterday()
    day0 = reopen(ledger, d)
    a = writer_at(ledger, d + HOUR).prepare(events(d, 2))
    b = writer_at(ledger, d + DAY).prepare(events(d, 2))
    assert (a.open_from, b.open_from) == (day0, day0 + 86400)
    assert group_delta_rows([a, b], ordered=False) is None
    assert group_delta_rows([b, b], ordered=False) is not None


def test_rebuild_takes_day_rows_out_of_open_days(ledger):
    d = yesterday()
    reopen(ledger, d)
    writer_at(ledger, d + HOUR).write(events(d, 3))
    with ledger.engine.begin() as conn:
        hour_rows = conn.execute(select(t.rollup_hour)).mappings().all()
        stray = [{**r, "bucket": r["bucket"] - r["bucket"] % 86400} for r in hour_rows]
        conn.execute(insert(t.rollup_day), stray)
    with ledger.engine.begin() as conn:
        report = rebuild_rollups(conn, start_us=0, end_us=int(4e15))
    assert len(report.differences["rollup_day"]) == 1
    assert day_costs(ledger, t.rollup_day) == {}
    assert by_day_read(ledger) == raw_day_costs(ledger)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_fold_is_one_write_a_day(ledger):
    """Preparing reads the mark once; only a clock past it writes (and then once)."""
    d = yesterday()
    day0 = reopen(ledger, d)
    w = writer_at(ledger, d + HOUR)
    w.prepare(events(d, 1))
    commits: list[int] = []
    event.listen(ledger.engine, "commit", lambda conn: commits.append(1))
    for _ in range(3):
        w.prepare(events(d, 1))
    assert commits == []
    later = writer_at(ledger, d + 2 * DAY)
    for _ in range(3):
        later.prepare(events(d, 1))
    assert commits == [1]
    assert mark(ledger) == day0 + 2 * 86400


@pytest.mark.parametrize("backend", ["sqlite"])  # the table rename below is a SQLite test aid
def test_a_fold_that_fails_leaves_the_days_open_and_the_batch_written(ledger):
    d = yesterday()
    day0 = reopen(ledger, d)
    w = writer_at(ledger, d + DAY + HOUR)  # yesterday is over: its first batch folds
    with ledger.engine.begin() as conn:
        conn.execute(text("ALTER TABLE rollup_day RENAME TO rollup_day_hidden"))
    try:
        assert w.write(events(d + DAY, 4)).accepted == 4
        assert mark(ledger) == day0  # not folded; the batch was written for the open days
    finally:
        with ledger.engine.begin() as conn:
            conn.execute(text("ALTER TABLE rollup_day_hidden RENAME TO rollup_day"))
    w.write(events(d + DAY, 1))  # the next batch folds
    assert mark(ledger) == day0 + 86400
    raw = raw_day_costs(ledger)
    assert day_costs(ledger, t.rollup_hour) == raw
    assert by_day_read(ledger) == raw
