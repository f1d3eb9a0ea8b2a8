"""The writer process (``LLMLEDGER_WRITER=process``, SQLite's default under ``serve``): one bad
batch does not fail its neighbours, a writer that dies fails only what it held and is replaced,
and it stops when the server dies."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select, text

from llmledger.ingest.writer_process import write_group
from llmledger.ledger import Ledger
from llmledger.store import tables as t
from llmledger.store.write import Prepared, WriteFailed, group_delta_rows
from tests.support.events import usage_events
from tests.support.processes import alive

pytestmark = [
    pytest.mark.parametrize("backend", ["sqlite"]),
    pytest.mark.parametrize("writer", ["process"]),
]


def _stored(ledger: Ledger) -> tuple[int, int, int]:
    """Stored events, their cost, and the cost in the hourly rollup."""
    with ledger.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
        raw = conn.execute(select(func.coalesce(func.sum(t.events.c.cost_nanos), 0))).scalar_one()
        rolled = conn.execute(
            select(func.coalesce(func.sum(t.rollup_hour.c.cost_nanos), 0))
        ).scalar_one()
    return int(n), int(raw), int(rolled)


def _database(ledger: Ledger) -> str:
    return str(ledger.engine.url.database)


def test_the_writer_runs_in_another_process(ledger):
    ledger.writer.start()
    pid = ledger.writer.process_id
    assert pid is not None and pid != os.getpid()
    result = ledger.writer.submit(ledger.writer.prepare(usage_events(30))).result(timeout=60)
    assert (result.accepted, result.duplicates) == (30, 0)
    n, raw, rolled = _stored(ledger)
    assert n == 30 and raw == rolled > 0


def test_one_failing_batch_does_not_fail_its_group(ledger):
    """The writer process's group write, called here in process: the group fails as a whole
    (its ``user_day`` upsert has no table), so each batch is written alone."""
    w = ledger.writer
    batches = [w.prepare(usage_events(n, user=u)) for n, u in ((5, None), (3, "u1"), (4, None))]
    with ledger.engine.begin() as conn:
        conn.execute(text("ALTER TABLE user_day RENAME TO user_day_hidden"))
    try:
        outcomes = write_group(
            ledger.engine,
            [r for b in batches for r in b.rows],
            [len(b.rows) for b in batches],
            group_delta_rows(batches, ordered=False),
            batches[0].open_from,
        )
    finally:
        with ledger.engine.begin() as conn:
            conn.execute(text("ALTER TABLE user_day_hidden RENAME TO user_day"))
    assert outcomes == [(5, 0), None, (4, 0)]
    n, raw, rolled = _stored(ledger)
    assert n == 9 and raw == rolled


def test_a_batch_that_cannot_travel_fails_alone(ledger):
    w = ledger.writer
    good = w.prepare(usage_events(4))
    row = list(w.prepare(usage_events(1)).rows[0])
    row[13] = 2**70  # input_tokens beyond 64 bits (the contract never lets this through)
    bad = Prepared(rows=[tuple(row)], deltas=good.deltas, open_from=good.open_from)
    futures = [w.submit(bad), w.submit(good)]
    with pytest.raises(WriteFailed):
        futures[0].result(timeout=60)
    assert futures[1].result(timeout=60).accepted == 4
    assert _stored(ledger)[0] == 4


def test_a_killed_writer_fails_what_it_held_and_is_replaced(ledger):
    w = ledger.writer
    w.start()
    first_pid = w.process_id
    assert first_pid is not None
    batch = usage_events(10)
    blocker = sqlite3.connect(_database(ledger), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer process will wait for this lock
    try:
        fut = w.submit(w.prepare(batch))
        deadline = time.monotonic() + 60
        while w.groups_in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert w.groups_in_flight == 1  # sent, and held by the lock the test holds
        os.kill(first_pid, signal.SIGKILL)
        with pytest.raises(WriteFailed, match="resend"):
            fut.result(timeout=30)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert _stored(ledger)[0] == 0
    # resending the same events: a new writer process takes them, once
    again = w.submit(w.prepare(batch)).result(timeout=60)
    assert (again.accepted, again.duplicates) == (10, 0)
    assert w.process_id not in (None, first_pid)
    n, raw, rolled = _stored(ledger)
    assert n == 10 and raw == rolled


def test_the_writer_process_stops_when_the_server_dies(settings):
    script = textwrap.dedent(
        """
        import sys, time
        from llmledger.ledger import Ledger
        from llmledger.settings import Settings

        ledger = Ledger(Settings(database_url=sys.argv[1], data_dir=sys.argv[2], writer="process"))
        ledger.writer.start()
        print(ledger.writer.process_id, flush=True)
        time.sleep(120)
        """
    )
    server = subprocess.Popen(
        [sys.executable, "-c", script, settings.resolved_database_url, str(settings.data_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        child = int(server.stdout.readline())
        assert alive(child)
        server.kill()  # no shutdown code runs in the server
        server.wait(10)
        deadline = time.monotonic() + 60
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the writer process outlived the server"
    finally:
        server.kill()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
