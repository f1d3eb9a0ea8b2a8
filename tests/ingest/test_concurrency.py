"""Concurrent ingest and reads: group commit keeps every event and SQLite never reports
"database is locked"."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, func, select

from llmledger.events import UsageEvent
from llmledger.ingest.writer import EventWriter
from llmledger.store import tables as t
from tests.support.events import usage_events


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_concurrent_submitters_and_readers(ledger, client, admin):
    errors: list[BaseException] = []
    batches = [usage_events(200, f"org{i % 3}") for i in range(24)]
    expected_cost = 0

    def submit(batch: list[UsageEvent]) -> None:
        try:
            fut = ledger.writer.submit(ledger.writer.prepare(batch))
            res = fut.result(timeout=60)
            assert res.accepted == len(batch)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(15):
                r = client.get("/api/v1/admin/llm-costs/global", headers=admin)
                assert r.status_code == 200, r.text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(b,)) for b in batches]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[0]
    with ledger.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
        raw = conn.execute(select(func.sum(t.events.c.cost_nanos))).scalar_one()
        rolled = conn.execute(select(func.sum(t.rollup_hour.c.cost_nanos))).scalar_one()
    expected_cost = raw
    assert n == 24 * 200
    assert rolled == expected_cost


def test_batches_announced_while_the_writer_waits_join_one_commit(ledger):
    """The writer waits for a batch announced with ``preparing`` and commits the two as one
    group; with nothing announced it commits a lone batch at once. The wait is long here, so
    the outcome does not depend on how soon this thread runs again."""
    commits: list[int] = []
    event.listen(ledger.engine, "commit", lambda conn: commits.append(1))
    writer = EventWriter(ledger.engine, ledger.pricer, group_wait_s=LONG_WAIT_S)
    try:
        first, second = writer.prepare(usage_events(5, "a")), writer.prepare(usage_events(7, "b"))
        with writer.preparing():
            a = writer.submit(first)
            b = writer.submit(second)
        assert (a.result(timeout=60).accepted, b.result(timeout=60).accepted) == (5, 7)
        assert len(commits) == 1
        # nothing announced: committed without waiting for the group (which would take 10 min)
        started = time.monotonic()
        writer.submit(writer.prepare(usage_events(3, "c"))).result(timeout=LONG_WAIT_S / 2)
        assert len(commits) == 2
        assert time.monotonic() - started < LONG_WAIT_S / 2
    finally:
        writer.close()


LONG_WAIT_S = 600.0


def test_the_group_waits_no_longer_than_its_limit(ledger):
    """A batch announced but never submitted holds the group back for ``group_wait_s`` only."""
    writer = EventWriter(ledger.engine, ledger.pricer, group_wait_s=0.2)
    try:
        with writer.preparing():  # announced, never submitted while the group waits
            done = writer.submit(writer.prepare(usage_events(3, "a")))
            assert done.result(timeout=60).accepted == 3
    finally:
        writer.close()


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_rollup_rebuild_holds_ingest_back_until_it_commits(ledger):
    """On PostgreSQL a rebuild locks events against writes (SQLite's BEGIN IMMEDIATE already
    does): an event committed between its recount and its replacement would be lost from the
    rollups."""
    from llmledger.store.rebuild import rebuild_rollups

    ledger.write(usage_events(5, "acme"))
    now_us = time.time_ns() // 1000
    written = threading.Event()

    def ingest() -> None:
        ledger.write(usage_events(7, "acme"))
        written.set()

    with ledger.engine.connect() as conn, conn.begin():
        rebuild_rollups(conn, start_us=now_us - 86_400_000_000, end_us=now_us + 1)
        writer = threading.Thread(target=ingest)
        writer.start()
        assert not written.wait(0.5), "ingest wrote while the rebuild was open"
    writer.join(30)
    assert written.is_set()
    with ledger.engine.connect() as conn:
        raw = conn.execute(select(func.sum(t.events.c.cost_nanos))).scalar_one()
        rolled = conn.execute(select(func.sum(t.rollup_hour.c.cost_nanos))).scalar_one()
        n = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
    assert n == 12 and raw == rolled
