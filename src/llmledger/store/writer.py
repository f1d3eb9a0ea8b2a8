"""The one writer path for events.

Every way an event enters llmledger (HTTP ingest, the demo, direct-mode SDK, OTLP, importers)
ends in ``write_batch``: in one transaction it drops events already stored (by ``eventId``),
prices the rest, inserts them and adds them to every rollup they touch. So rollups always agree
with raw events, and re-sending is always safe.

``EventWriter`` runs ``write_batch`` on one background thread with group commit: concurrent
submissions are drained from a queue and committed together, which both keeps SQLite to a single
writer (no "database is locked") and amortises the commit over many requests.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError

from llmledger.events import UsageEvent
from llmledger.store import tables as t
from llmledger.store.dialect import executemany, insert_ignore_sql, upsert_add_sql
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import (
    EVENT_COLUMNS,
    Pricer,
    RollupDeltas,
    StoredEvent,
    event_row,
    model_deltas,
    rollup_deltas,
    to_us,
)

log = logging.getLogger(__name__)

_IN_CHUNK = 900


@dataclass(frozen=True, slots=True)
class WriteResult:
    accepted: int
    duplicates: int


class WriterOverloaded(RuntimeError):
    """The writer's queue is full; the caller should retry later (HTTP 503)."""


class WriterClosed(RuntimeError):
    """The writer has been closed (the process is shutting down)."""


def _existing_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    col = t.events.c.event_id
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i : i + _IN_CHUNK]
        found.update(conn.execute(select(col).where(col.in_(chunk))).scalars())
    return found


def _ensure_orgs(conn: Connection, org_ids: set[str], now_us: int) -> None:
    rows = [(o, o, now_us) for o in sorted(org_ids) if o]
    sql = insert_ignore_sql(
        conn.dialect.name, "organizations", ("org_id", "name", "created_us"), ("org_id",)
    )
    executemany(conn, sql, rows)


_ROLLUP_KEY = ("bucket", *t.ROLLUP_DIMENSIONS)
_ROLLUP_COLUMNS = (*_ROLLUP_KEY, *t.ROLLUP_MEASURES)
_MODEL_KEY = ("bucket", *t.MODEL_DIMENSIONS)
_MODEL_COLUMNS = (*_MODEL_KEY, *t.ROLLUP_MEASURES)
_SMALL = ("requests", "events", "input_tokens", "output_tokens", "cost_nanos")
_SESSION_COLUMNS = ("org_id", "session_id", "user_id", "first_us", "last_us", *_SMALL)
_AGENT_COLUMNS = ("org_id", "session_id", "agent", "requests", "cost_nanos")
_USER_DAY_COLUMNS = ("bucket", "org_id", "user_id", *_SMALL)


def apply_deltas(conn: Connection, d: RollupDeltas) -> None:
    """Add rollup deltas (negative ones take events out). Keys are sorted so that concurrent
    PostgreSQL writers lock rows in the same order and cannot deadlock."""
    dialect = conn.dialect.name
    # SQLite has one writer, so lock order does not matter there and sorting is skipped
    order = _sorted if dialect == "postgresql" else _as_is
    for name, deltas in (("rollup_hour", d.hour), ("rollup_day", d.day)):
        sql = upsert_add_sql(dialect, name, _ROLLUP_COLUMNS, _ROLLUP_KEY, t.ROLLUP_MEASURES)
        executemany(conn, sql, [(*k, *v) for k, v in order(deltas)])
        narrow = model_deltas(deltas)
        sql = upsert_add_sql(
            dialect, f"{name}_model", _MODEL_COLUMNS, _MODEL_KEY, t.ROLLUP_MEASURES
        )
        executemany(conn, sql, [(*k, *v) for k, v in order(narrow)])
    sql = upsert_add_sql(
        dialect,
        "sessions",
        _SESSION_COLUMNS,
        ("org_id", "session_id"),
        _SMALL,
        least=("first_us",),
        greatest=("last_us",),
        keep_nonempty=("user_id",),
    )
    executemany(conn, sql, [(*k, *v) for k, v in order(d.sessions)])
    sql = upsert_add_sql(
        dialect,
        "session_agents",
        _AGENT_COLUMNS,
        ("org_id", "session_id", "agent"),
        ("requests", "cost_nanos"),
    )
    executemany(conn, sql, [(*k, *v) for k, v in order(d.session_agents)])
    sql = upsert_add_sql(
        dialect, "user_day", _USER_DAY_COLUMNS, ("bucket", "org_id", "user_id"), _SMALL
    )
    executemany(conn, sql, [(*k, *v) for k, v in order(d.user_day)])


@dataclass(frozen=True, slots=True)
class Submission:
    events: Sequence[UsageEvent]
    default_org: str | None = None


def _sorted(d: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return sorted(d.items())


def _as_is(d: dict[Any, Any]) -> Any:
    return d.items()


def write_batch(
    conn: Connection,
    submissions: Sequence[Submission],
    *,
    pricer: Pricer,
    now_us: int,
) -> list[WriteResult]:
    """Write submissions inside the caller's transaction; one ``WriteResult`` per submission.

    Duplicates are rare, so the insert is optimistic: ``ON CONFLICT DO NOTHING`` and a count of
    what went in. Only when the count falls short (an ``eventId`` was already stored) is the batch
    rolled back to a savepoint and written again after looking up which ids are stored.
    """
    savepoint = conn.begin_nested()
    results, rows, orgs = _price(submissions, pricer, now_us, stored=set())
    inserted = _insert_events(conn, rows)
    if inserted != len(rows):
        savepoint.rollback()
        savepoint = conn.begin_nested()
        stored = _existing_ids(conn, [r[0] for r in rows])
        results, rows, orgs = _price(submissions, pricer, now_us, stored=stored)
        inserted = _insert_events(conn, rows)
        if inserted != len(rows):  # another writer got there between our read and insert
            raise IntegrityError("concurrent insert of the same eventId", None, Exception())
    if rows:
        _ensure_orgs(conn, orgs, now_us)
        apply_deltas(conn, rollup_deltas(rows))
    savepoint.commit()
    return results


def _price(
    submissions: Sequence[Submission], pricer: Pricer, now_us: int, *, stored: set[str]
) -> tuple[list[WriteResult], list[tuple[Any, ...]], set[str]]:
    results: list[WriteResult] = []
    rows: list[tuple[Any, ...]] = []
    orgs: set[str] = set()
    seen = set(stored)
    for sub in submissions:
        accepted = duplicates = 0
        for e in sub.events:
            eid = str(e.event_id)
            if eid in seen:
                duplicates += 1
                continue
            seen.add(eid)
            priced = pricer.price(e)
            org = e.org_id or sub.default_org or ""
            orgs.add(org)
            se = StoredEvent(
                e, to_us(e.timestamp), org, priced.cost_nanos, priced.cost_source, priced.price_id
            )
            rows.append(event_row(se, now_us, eid))
            accepted += 1
        results.append(WriteResult(accepted, duplicates))
    return results, rows, orgs


def _insert_events(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    if not rows:
        return 0
    sql = insert_ignore_sql(conn.dialect.name, "events", EVENT_COLUMNS, ("event_id",))
    return int(conn.exec_driver_sql(sql, rows).rowcount)


def _now_us() -> int:
    return time.time_ns() // 1000


class EventWriter:
    """A single background writer thread with group commit.

    ``submit`` returns a ``Future`` that resolves only after the events are committed, so an
    acknowledged event is durable. ``write`` is the blocking form.
    """

    def __init__(
        self,
        engine: Engine,
        pricer: Callable[[], Pricer],
        *,
        max_batch: int = 50_000,
        max_pending: int = 256,
        clock_us: Callable[[], int] = _now_us,
    ) -> None:
        self._engine = engine
        self._pricer = pricer
        self._max_batch = max_batch
        self._clock_us = clock_us
        self._queue: queue.Queue[tuple[Submission, Future[WriteResult]] | None] = queue.Queue(
            maxsize=max_pending
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._closed = False
                self._thread = threading.Thread(
                    target=self._run, name="llmledger-writer", daemon=True
                )
                self._thread.start()

    def close(self, timeout: float | None = 30) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._closed = True
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    # -- submitting ------------------------------------------------------------------------
    def submit(
        self, events: Sequence[UsageEvent], *, default_org: str | None = None
    ) -> Future[WriteResult]:
        if self._closed:
            raise WriterClosed("the event writer is closed; the server is shutting down")
        self.start()
        fut: Future[WriteResult] = Future()
        try:
            self._queue.put_nowait((Submission(events, default_org), fut))
        except queue.Full:
            raise WriterOverloaded("the event writer is busy; retry shortly") from None
        return fut

    def write(self, events: Sequence[UsageEvent], *, default_org: str | None = None) -> WriteResult:
        """Write now on the calling thread, outside the queue (CLI, demo, direct mode, tests)."""
        return self._commit([Submission(events, default_org)])[0]

    # -- the writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            count = len(item[0].events)
            while count < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(nxt)
                count += len(nxt[0].events)
            self._write_group(group)

    def _write_group(self, group: list[tuple[Submission, Future[WriteResult]]]) -> None:
        try:
            results = self._commit([s for s, _ in group])
        except Exception:
            if len(group) == 1:
                log.exception("writing a batch of %d events failed", len(group[0][0].events))
                group[0][1].set_exception(_fault())
                return
            # one bad submission must not fail its neighbours: write them one by one
            for item in group:
                self._write_group([item])
            return
        for (_, fut), res in zip(group, results, strict=True):
            fut.set_result(res)

    def _commit(self, subs: list[Submission]) -> list[WriteResult]:
        for attempt in range(5):
            try:
                with self._engine.connect() as conn:
                    begin_immediate(conn)
                    with conn.begin():
                        return write_batch(
                            conn, subs, pricer=self._pricer(), now_us=self._clock_us()
                        )
            except (IntegrityError, OperationalError):
                # another node committed the same eventId first (PostgreSQL), or a transient
                # lock/serialisation failure: the retry re-reads what is stored
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")


def _fault() -> Exception:
    return RuntimeError("the database refused the write; nothing of this batch was stored")
