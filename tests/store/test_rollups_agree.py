"""Rollups always equal a recount of raw events, to the nano-dollar (property-based)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select, update

from llmledger.analytics.filters import Filters
from llmledger.analytics.source import aggregate
from llmledger.events import UsageEvent
from llmledger.ingest.writer import EventWriter
from llmledger.ledger import Ledger
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.rebuild import rebuild_rollups
from tests.support.open_days import reopen

BASE = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
DAY_S = 86400
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "o3"),
    ("anthropic", "claude-sonnet-4-20250514"),
    ("groq", "llama-3.3-70b-versatile"),
    ("mystery", "unknown-model-1"),
]


@st.composite
def usage_events(draw: st.DrawFn) -> UsageEvent:
    provider, model = draw(st.sampled_from(MODELS))
    inp = draw(st.integers(0, 300_000))
    cached = draw(st.integers(0, inp))
    cw5 = draw(st.integers(0, inp - cached))
    out = draw(st.integers(0, 20_000))
    reasoning = draw(st.integers(0, out))
    return UsageEvent(
        event_id=uuid.UUID(int=draw(st.integers(0, 2**64)), version=4),
        timestamp=BASE + dt.timedelta(seconds=draw(st.integers(0, 20 * 86400))),
        provider=provider,
        model=model,
        org_id=draw(st.sampled_from([None, "acme", "globex"])),
        user_id=draw(st.sampled_from([None, "u1", "u2"])),
        agent=draw(st.sampled_from([None, "CIA", "IRIS"])),
        session_id=draw(st.sampled_from([None, "s1", "s2", "s3"])),
        operation=draw(st.sampled_from([None, "chat", "embed"])),
        input_tokens=inp,
        cache_read_tokens=cached,
        cache_write_5m_tokens=cw5,
        output_tokens=out,
        reasoning_tokens=reasoning,
        requests=draw(st.integers(1, 3)),
        latency_ms=draw(st.one_of(st.none(), st.integers(0, 60_000))),
        success=draw(st.booleans()),
        cost_usd=draw(st.one_of(st.none(), st.decimals(0, 5, places=9))),
    )


def writer_at(ledger: Ledger, day_s: int) -> EventWriter:
    return EventWriter(ledger.engine, ledger.pricer, clock_us=lambda: (day_s + 3600) * 1_000_000)


def raw_totals(ledger: Ledger, *, before_s: int | None = None) -> dict[str, int]:
    e = t.events.c
    q = select(
        func.coalesce(func.sum(e.cost_nanos), 0),
        func.coalesce(func.sum(e.requests), 0),
        func.coalesce(func.sum(e.input_tokens), 0),
        func.count(),
    )
    if before_s is not None:
        q = q.where(e.ts_us < before_s * 1_000_000)
    with ledger.engine.connect() as conn:
        row = conn.execute(q).one()
    return {
        "cost": int(row[0]),
        "requests": int(row[1]),
        "input": int(row[2]),
        "events": int(row[3]),
    }


def rollup_totals(ledger: Ledger, table: Any) -> dict[str, int]:
    r = table.c
    with ledger.engine.connect() as conn:
        row = conn.execute(
            select(
                func.coalesce(func.sum(r.cost_nanos), 0),
                func.coalesce(func.sum(r.requests), 0),
                func.coalesce(func.sum(r.input_tokens), 0),
                func.coalesce(func.sum(r.events), 0),
            )
        ).one()
    return {
        "cost": int(row[0]),
        "requests": int(row[1]),
        "input": int(row[2]),
        "events": int(row[3]),
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(usage_events(), max_size=30), min_size=1, max_size=4),
    data=st.data(),
)
def test_rollups_equal_raw_totals_with_duplicates_and_disorder(ledger, batches, data):
    # the days from a drawn one on are open (hourly rows only), and a drawn number of them
    # close (fold) between two drawn batches
    day0 = int(BASE.timestamp())
    opened = reopen(ledger.engine, day0 + data.draw(st.integers(0, 21)) * DAY_S)
    fold_at = data.draw(st.integers(0, len(batches)))
    closes = opened + data.draw(st.integers(0, 3)) * DAY_S
    # writers whose clocks read the first open day, then the day the fold closes to
    writer = writer_at(ledger, opened)
    # re-send some earlier events (duplicates) and shuffle (out-of-order timestamps)
    sent: list[UsageEvent] = []
    for i, batch in enumerate(batches):
        if i == fold_at:
            writer = writer_at(ledger, closes)  # its first batch folds
        if sent:
            batch = batch + data.draw(st.lists(st.sampled_from(sent), max_size=10))
        batch = data.draw(st.permutations(batch))
        writer.write(batch)
        sent.extend(batch)
    raw = raw_totals(ledger)
    mark = closes if fold_at < len(batches) else opened
    assert rollup_totals(ledger, t.rollup_hour) == raw
    assert rollup_totals(ledger, t.rollup_day) == raw_totals(ledger, before_s=mark)
    with ledger.engine.connect() as conn:
        assert open_days.open_from(conn) == mark
        days, _ = aggregate(conn, [(0, 4_000_000_000 * 10**6)], Filters(), measures=("cost_nanos",))
    assert days[0]["cost_nanos"] == raw["cost"]  # reads: closed days and open ones
    with ledger.engine.connect() as conn:
        report = rebuild_rollups(conn, start_us=0, end_us=int(4e15), repair=False)
        sessions = conn.execute(
            select(func.coalesce(func.sum(t.sessions.c.cost_nanos), 0))
        ).scalar()
        in_sessions = conn.execute(
            select(func.coalesce(func.sum(t.events.c.cost_nanos), 0)).where(
                t.events.c.session_id.is_not(None)
            )
        ).scalar()
    assert report.differences["rollup_hour"] == []
    assert report.differences["rollup_day"] == []
    assert report.differences["rollup_hour_model"] == []
    assert report.differences["rollup_day_model"] == []
    assert rollup_totals(ledger, t.rollup_hour_model) == raw
    assert rollup_totals(ledger, t.rollup_day_model) == raw_totals(ledger, before_s=mark)
    assert sessions == in_sessions


def test_rebuild_finds_and_repairs_a_damaged_rollup(ledger):
    events = [
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=BASE + dt.timedelta(hours=i),
            provider="openai",
            model="gpt-4o",
            org_id="acme",
            session_id="s1",
            input_tokens=1000,
            output_tokens=100,
        )
        for i in range(30)
    ]
    ledger.write(events)
    with ledger.engine.connect() as conn:
        session_before = conn.execute(select(t.sessions)).one()
        agents_before = conn.execute(select(t.session_agents)).all()
    with ledger.engine.begin() as conn:
        conn.execute(update(t.rollup_day).values(cost_nanos=t.rollup_day.c.cost_nanos + 7))
        conn.execute(t.rollup_hour.delete().where(t.rollup_hour.c.bucket < BASE.timestamp() + 7200))
        conn.execute(update(t.sessions).values(cost_nanos=1, last_us=0))
        conn.execute(t.session_agents.delete())
    with ledger.engine.begin() as conn:
        report = rebuild_rollups(conn, start_us=0, end_us=int(4e15))
    assert [(d["session_id"], d["cost_nanos"]) for d in report.differences["sessions"]] == [
        ("s1", session_before.cost_nanos)
    ]
    with ledger.engine.connect() as conn:
        assert conn.execute(select(t.sessions)).one() == session_before
        assert conn.execute(select(t.session_agents)).all() == agents_before
    assert len(report.differences["rollup_day"]) == 2  # the events span two days
    assert {d["delta"]["cost_nanos"] for d in report.differences["rollup_day"]} == {-7}
    assert len(report.differences["rollup_hour"]) == 2
    raw = raw_totals(ledger)
    assert rollup_totals(ledger, t.rollup_day) == raw
    assert rollup_totals(ledger, t.rollup_hour) == raw
    with ledger.engine.connect() as conn:
        again = rebuild_rollups(conn, start_us=0, end_us=int(4e15), repair=False)
    assert again.changed == 0


@pytest.mark.parametrize("backend", ["sqlite"])  # the query plan checked is SQLite's
def test_rebuild_reads_sessions_through_their_index(ledger):
    """Rebuilding sessions looks each touched session up by index: SQLite scans the whole
    events table for a row-value ``IN`` list, once per chunk of sessions."""
    ledger.write(
        [
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=BASE + dt.timedelta(minutes=i),
                provider="openai",
                model="gpt-4o",
                org_id="acme",
                session_id=f"s{i % 5}",
                agent=f"a{i % 2}",
                input_tokens=10,
            )
            for i in range(20)
        ]
    )
    plans: list[str] = []

    def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if (
            not executemany
            and "session" in statement
            and statement.lstrip().startswith(("SELECT", "DELETE", "INSERT"))
        ):
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" / ".join(r[3] for r in rows))

    with ledger.engine.begin() as conn:
        event.listen(conn, "before_cursor_execute", explain)
        report = rebuild_rollups(conn, start_us=0, end_us=int(4e15))
        event.remove(conn, "before_cursor_execute", explain)
    assert report.changed == 0
    assert any("USING INDEX ix_events_session" in p for p in plans), plans
    full_scans = [p for p in plans if "SCAN events" in p or "SCAN session" in p]
    assert full_scans == [], full_scans
