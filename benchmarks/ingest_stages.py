"""Where an ingested event's time goes: each stage of the ingest path timed alone, in process,
on one thread, next to its baseline (the contract's slow path for decoding; a bare ``executemany``
for writing).

    .venv/bin/python benchmarks/ingest_stages.py [--events 100000] [--mode live|backfill]

Stages, per event: decode (msgspec fast path, against ``orjson.loads`` plus pydantic
validation), prepare (timestamps, checks, pricing, the row tuple), rollup deltas, and the
writer's transaction split by statement (events insert, each rollup upsert, commit).

Two what-ifs behind the design (docs/performance.md):

- ``--convoy``: the events ``executemany`` alone, and beside a CPU-bound Python thread (the GIL
  convoy that made preparation and writing take turns);
- ``--two-process``: session 2's prototype of the writer in its own process, fed pickled
  prepared batches through a pipe (no HTTP), against the serial total;
- ``--pipeline``: the real thing without HTTP: batches prepared on this thread and submitted to
  the ledger's writer with its writer process (``LLMLEDGER_WRITER=process``), four in flight;
- ``--checkpoints``: the same prepared batches written one after another on a fresh database,
  with SQLite's automatic WAL checkpoint (inside the commits) and with the writer process's
  arrangement (no automatic checkpoint, a ``Checkpointer`` thread beside the writes).
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import ceiling, make_events
from llmledger.events import parse_events
from llmledger.ingest.prepare import prepare_wire
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store.rows import rollup_deltas
from llmledger.store.write import Prepared
from llmledger.wire import decode_batch

BATCH = 5_000


def timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--mode", default="live", choices=["live", "backfill"])
    ap.add_argument("--convoy", action="store_true")
    ap.add_argument("--two-process", action="store_true")
    ap.add_argument("--pipeline", action="store_true")
    ap.add_argument("--checkpoints", action="store_true")
    args = ap.parse_args()
    n = args.events
    events = make_events(n, args.mode)
    bodies = [orjson.dumps({"events": events[i : i + BATCH]}) for i in range(0, n, BATCH)]
    ledger = Ledger.open(Settings(data_dir=tempfile.mkdtemp()))
    pricer = ledger.pricer()
    gc.collect()
    gc.freeze()  # as `llmledger serve` does

    spent: collections.Counter[str] = collections.Counter()
    statements: collections.Counter[str] = collections.Counter()

    @event.listens_for(ledger.engine, "before_cursor_execute")
    def _start(conn: Any, *_: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(ledger.engine, "after_cursor_execute")
    def _stop(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        name = " ".join(statement.split()[:3])
        statements[name] += time.perf_counter() - conn.info["t0"]

    for body in bodies:
        payload, secs = timed(orjson.loads, body)
        spent["baseline: orjson.loads"] += secs
        _, secs = timed(parse_events, payload["events"])
        spent["baseline: pydantic UsageEvent"] += secs
        wire, secs = timed(decode_batch, body, max_events=10_000)
        spent["decode (msgspec, fast path)"] += secs
        now_us = time.time_ns() // 1000
        open_from = ledger.writer.open_from()
        prepared, secs = timed(
            prepare_wire, wire, pricer, key_org=None, now_us=now_us, open_from=open_from
        )
        assert isinstance(prepared, Prepared)
        _, deltas_secs = timed(rollup_deltas, prepared.rows, open_from=open_from)
        spent["prepare: rows and pricing"] += secs - deltas_secs
        spent["prepare: rollup deltas"] += deltas_secs
        _, secs = timed(ledger.writer._commit, [prepared])
        spent["write: whole transaction"] += secs

    def line(label: str, secs: float) -> None:
        print(f"  {label:36} {secs / n * 1e6:7.2f} µs/event")

    print(f"{n} demo events ({args.mode}), batches of {BATCH}, one thread, in process")
    for label in (
        "baseline: orjson.loads",
        "baseline: pydantic UsageEvent",
        "decode (msgspec, fast path)",
        "prepare: rows and pricing",
        "prepare: rollup deltas",
        "write: whole transaction",
    ):
        line(label, spent[label])
    for name, secs in statements.most_common():
        if secs / n > 1e-7:
            line(f"  {name.lower()}", secs)
    line(
        "  commit, deltas to tuples, the rest",
        spent["write: whole transaction"] - sum(statements.values()),
    )
    serial = sum(spent[k] for k in spent if not k.startswith("baseline")) / n
    print(f"  {'serial total':36} {serial * 1e6:7.2f} µs/event = {1 / serial:,.0f} events/s")
    print(f"  ceiling: bare executemany {ceiling(events):,.0f} rows/s")
    if args.convoy:
        convoy([r for b in bodies[:2] for r in _prepare(b, pricer).rows])
    if args.two_process:
        two_process(bodies, pricer)
    if args.pipeline:
        pipeline(bodies)
    if args.checkpoints:
        checkpoints([_prepare(b, pricer) for b in bodies])


def _prepare(body: bytes, pricer: Any) -> Prepared:
    wire = decode_batch(body, max_events=10_000)
    now_us = time.time_ns() // 1000
    # a bare prepared batch, as if today were open (the default for a live database)
    open_from = now_us // 86_400_000_000 * 86400
    prepared = prepare_wire(wire or [], pricer, key_org=None, now_us=now_us, open_from=open_from)
    assert prepared is not None
    return prepared


def convoy(rows: list[tuple[Any, ...]]) -> None:
    """The events insert alone, then beside a thread that only runs Python."""
    import sqlite3
    import threading

    from llmledger.store.dialect import insert_ignore_sql
    from llmledger.store.rows import EVENT_COLUMNS

    sql = insert_ignore_sql("sqlite", "events", EVENT_COLUMNS, ("event_id",))

    def rate(db: sqlite3.Connection, some: list[tuple[Any, ...]]) -> float:
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, some)
        db.execute("COMMIT")
        return (time.perf_counter() - started) / len(some) * 1e6

    for label, busy, some in (("alone", False, rows), ("beside a busy thread", True, rows[:200])):
        ledger = Ledger.open(Settings(data_dir=tempfile.mkdtemp()))
        db = sqlite3.connect(ledger.settings.resolved_database_url.removeprefix("sqlite:///"))
        db.isolation_level = None
        stop = threading.Event()
        spinner = threading.Thread(target=_spin, args=(stop,))
        if busy:
            spinner.start()
        per_row = rate(db, some)
        stop.set()
        if busy:
            spinner.join()
        db.close()
        ledger.close()
        print(f"  convoy: events executemany {label:22} {per_row:9.1f} µs/row ({len(some)} rows)")


def _spin(stop: Any) -> None:
    while not stop.is_set():
        pass


def _writer_process(data_dir: str, conn: Any) -> None:
    import pickle

    ledger = Ledger(Settings(data_dir=data_dir))
    gc.collect()
    gc.freeze()
    while True:
        try:
            batches = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        conn.send_bytes(pickle.dumps(ledger.writer._commit(batches)))


def two_process(bodies: list[bytes], pricer: Any) -> None:
    """Decode and prepare here; write in another process (one batch in flight at a time)."""
    import multiprocessing
    import pickle
    import queue
    import threading

    ledger = Ledger.open(Settings(data_dir=tempfile.mkdtemp()))
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_writer_process, args=(str(ledger.settings.data_dir), there))
    child.start()
    here.send_bytes(pickle.dumps([]))
    here.recv_bytes()
    outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=2)

    def send() -> None:
        while (blob := outbox.get()) is not None:
            here.send_bytes(blob)
            pickle.loads(here.recv_bytes())

    sender = threading.Thread(target=send)
    sender.start()
    started = time.perf_counter()
    for body in bodies:
        outbox.put(pickle.dumps([_prepare(body, pricer)], protocol=5))
    outbox.put(None)
    sender.join()
    secs = time.perf_counter() - started
    here.close()
    child.join(10)
    n = sum(len(orjson.loads(b)["events"]) for b in bodies)
    print(f"  two processes (writer apart, no HTTP): {n / secs:,.0f} events/s")


def pipeline(bodies: list[bytes]) -> None:
    """Prepare here, write in the writer process, as the server does minus HTTP."""
    import collections as co

    ledger = Ledger.open(Settings(data_dir=tempfile.mkdtemp(), writer="process"))
    writer = ledger.writer
    writer.start()
    pricer = ledger.pricer()
    pending: co.deque[Any] = co.deque()
    n = 0
    started = time.perf_counter()
    for body in bodies:
        if len(pending) == 4:  # as many in flight as the HTTP benchmark's client threads
            pending.popleft().result()
        with writer.turn:
            prepared = _prepare(body, pricer)
        n += len(prepared.rows)
        pending.append(writer.submit(prepared))
    for fut in pending:
        fut.result()
    secs = time.perf_counter() - started
    ledger.close()
    print(f"  pipeline (writer process, no HTTP): {n / secs:,.0f} events/s")


def checkpoints(batches: list[Prepared]) -> None:
    """Each batch in its own transaction, with the checkpoint in the commits or beside them."""
    import statistics

    from llmledger.store.checkpoint import checkpointer_for
    from llmledger.store.engine import make_engine
    from llmledger.store.write import commit_with_retry, write_batch

    n = sum(len(b.rows) for b in batches)
    for label, automatic in (("in the commits (SQLite's)", True), ("in a thread beside", False)):
        settings = Settings(data_dir=tempfile.mkdtemp())
        Ledger.open(settings).close()  # migrated and seeded
        engine = make_engine(settings, autocheckpoint=automatic)
        checkpointer = None if automatic else checkpointer_for(engine)
        if checkpointer is not None:
            checkpointer.start()
        commits: list[float] = []
        started = time.perf_counter()
        for batch in batches:
            written: list[float] = []

            def work(conn: Any, batch: Prepared = batch, written: list[float] = written) -> Any:
                out = write_batch(conn, [batch], now_us=time.time_ns() // 1000)
                written.append(time.perf_counter())
                return out

            commit_with_retry(engine, work)
            commits.append(time.perf_counter() - written[-1])  # COMMIT, and the checkpoint in it
        spent = time.perf_counter() - started
        if checkpointer is not None:
            checkpointer.close()
        engine.dispose()
        print(
            f"  checkpoints {label:30} write {spent / n * 1e6:6.1f} µs/event, "
            f"commit median {statistics.median(commits) * 1e3:5.1f} ms per {BATCH} events"
        )


if __name__ == "__main__":
    main()
