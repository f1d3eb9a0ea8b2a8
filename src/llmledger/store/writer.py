"""The one writer path for events.

Every way an event enters llmledger (HTTP ingest, the demo, direct-mode SDK, OTLP, importers)
ends in ``write_batch``. Batches arrive prepared (priced rows and their rollup deltas, computed on
the submitting thread: see ``prepare``); in one transaction the writer drops events already
stored (by ``eventId``), inserts the rest and adds them to every rollup they touch. So rollups
always agree with raw events, and re-sending is always safe.

``EventWriter`` runs ``write_batch`` on one background thread with group commit: concurrent
submissions are drained from a queue and committed together, which both keeps SQLite to a single
writer (no "database is locked") and amortises the commit over many requests.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError

from llmledger.events import UsageEvent
from llmledger.pricing.cost import Pricer
from llmledger.store import tables as t
from llmledger.store.dialect import insert_ignore, upsert_add
from llmledger.store.engine import begin_immediate
from llmledger.store.prepare import Prepared, prepare_events
from llmledger.store.rows import EVENT_COLUMNS, ORG, RollupDeltas, model_deltas, rollup_deltas

log = logging.getLogger(__name__)

_IN_CHUNK = 900
#: how long a group commit may wait for batches that are still being prepared
GROUP_WAIT_S = 0.05


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
    insert_ignore(conn, "organizations", ("org_id", "name", "created_us"), ("org_id",), rows)


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
        upsert_add(
            conn,
            name,
            _ROLLUP_COLUMNS,
            _ROLLUP_KEY,
            t.ROLLUP_MEASURES,
            [(*k, *v) for k, v in order(deltas)],
        )
        upsert_add(
            conn,
            f"{name}_model",
            _MODEL_COLUMNS,
            _MODEL_KEY,
            t.ROLLUP_MEASURES,
            [(*k, *v) for k, v in order(model_deltas(deltas))],
        )
    upsert_add(
        conn,
        "sessions",
        _SESSION_COLUMNS,
        ("org_id", "session_id"),
        _SMALL,
        [(*k, *v) for k, v in order(d.sessions)],
        least=("first_us",),
        greatest=("last_us",),
        keep_nonempty=("user_id",),
    )
    upsert_add(
        conn,
        "session_agents",
        _AGENT_COLUMNS,
        ("org_id", "session_id", "agent"),
        ("requests", "cost_nanos"),
        [(*k, *v) for k, v in order(d.session_agents)],
    )
    upsert_add(
        conn,
        "user_day",
        _USER_DAY_COLUMNS,
        ("bucket", "org_id", "user_id"),
        _SMALL,
        [(*k, *v) for k, v in order(d.user_day)],
    )


def _sorted(d: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return sorted(d.items())


def _as_is(d: dict[Any, Any]) -> Any:
    return d.items()


def write_batch(conn: Connection, batches: Sequence[Prepared], *, now_us: int) -> list[WriteResult]:
    """Write prepared batches inside the caller's transaction; one ``WriteResult`` per batch.

    Duplicates are rare, so the insert is optimistic: ``ON CONFLICT DO NOTHING`` and a count of
    what went in, and the deltas prepared with the rows are added as they are. Only when the
    count falls short (an ``eventId`` was already stored, or sent twice) is the work rolled back
    to a savepoint and done again: look up which ids are stored, keep the first copy of each new
    one, and recompute the deltas from the rows that really go in.
    """
    savepoint = conn.begin_nested()
    rows = batches[0].rows if len(batches) == 1 else [r for b in batches for r in b.rows]
    inserted = _insert_events(conn, rows)
    if inserted == len(rows):
        results = [WriteResult(len(b.rows), 0) for b in batches]
        if len(batches) > 1 and conn.dialect.name == "postgresql":
            # one sorted pass, so that concurrent nodes lock rollup rows in the same order
            deltas = [rollup_deltas(rows)]
        else:
            deltas = [b.deltas for b in batches]
    else:
        savepoint.rollback()
        savepoint = conn.begin_nested()
        stored = _existing_ids(conn, [r[0] for r in rows])
        results, rows = _fresh(batches, stored)
        inserted = _insert_events(conn, rows)
        if inserted != len(rows):  # another writer got there between our read and insert
            raise IntegrityError("concurrent insert of the same eventId", None, Exception())
        deltas = [rollup_deltas(rows)]
    if rows:
        _ensure_orgs(conn, {r[ORG] for r in rows}, now_us)
        for d in deltas:
            apply_deltas(conn, d)
    savepoint.commit()
    return results


def _fresh(
    batches: Sequence[Prepared], stored: set[str]
) -> tuple[list[WriteResult], list[tuple[Any, ...]]]:
    """The rows whose ids are neither stored nor seen earlier in ``batches``, with the count of
    accepted and duplicate events per batch."""
    results: list[WriteResult] = []
    rows: list[tuple[Any, ...]] = []
    seen = set(stored)
    for b in batches:
        accepted = 0
        for r in b.rows:
            if r[0] not in seen:
                seen.add(r[0])
                rows.append(r)
                accepted += 1
        results.append(WriteResult(accepted, len(b.rows) - accepted))
    return results, rows


def _insert_events(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    return insert_ignore(conn, "events", EVENT_COLUMNS, ("event_id",), rows)


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
        self._queue: queue.Queue[tuple[Prepared, Future[WriteResult]] | None] = queue.Queue(
            maxsize=max_pending
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        #: Held by the writer thread while it writes, and by ingest while it prepares. The
        #: sqlite3 driver releases the GIL around every row it steps; were a CPU-bound Python
        #: thread running meanwhile, the writer would wait a whole switch interval (5 ms) to get
        #: the GIL back after each row (a convoy: measured 600x slower). Taking turns is faster.
        self.turn = threading.Lock()
        # batches being prepared for ``submit`` right now: the writer waits a moment for them,
        # so that they join the group it is about to commit
        self._preparing = 0
        self._prepared = threading.Condition()

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
    def prepare(self, events: Sequence[UsageEvent], *, default_org: str | None = None) -> Prepared:
        """Price ``events`` and compute their deltas on the calling thread."""
        return prepare_events(
            events, self._pricer(), default_org=default_org, received_us=self._clock_us()
        )

    @contextmanager
    def preparing(self) -> Iterator[None]:
        """Announce a batch that will be submitted at the end of this block. Larger groups cost
        fewer rollup upserts and commits per event, so the writer waits (at most
        ``GROUP_WAIT_S``) for announced batches before it commits."""
        with self._prepared:
            self._preparing += 1
        try:
            yield
        finally:
            with self._prepared:
                self._preparing -= 1
                self._prepared.notify_all()

    def submit(self, batch: Prepared) -> Future[WriteResult]:
        """Queue a prepared batch; the future resolves after its commit."""
        if self._closed:
            raise WriterClosed("the event writer is closed; the server is shutting down")
        self.start()
        fut: Future[WriteResult] = Future()
        try:
            self._queue.put_nowait((batch, fut))
        except queue.Full:
            raise WriterOverloaded("the event writer is busy; retry shortly") from None
        return fut

    def write(self, events: Sequence[UsageEvent], *, default_org: str | None = None) -> WriteResult:
        """Write now on the calling thread, outside the queue (CLI, demo, direct mode, tests)."""
        return self._commit([self.prepare(events, default_org=default_org)])[0]

    # -- the writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            count = len(item[0].rows)
            deadline = time.monotonic() + GROUP_WAIT_S
            while count < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    if self._await_preparations(deadline):
                        continue
                    break
                if nxt is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(nxt)
                count += len(nxt[0].rows)
            self._write_group(group)

    def _await_preparations(self, deadline: float) -> bool:
        """Wait until an announced batch is submitted; False when none is announced or the
        group has waited long enough."""
        with self._prepared:
            left = deadline - time.monotonic()
            if self._preparing == 0 or left <= 0:
                return False
            self._prepared.wait(left)
            return True

    def _write_group(self, group: list[tuple[Prepared, Future[WriteResult]]]) -> None:
        try:
            with self.turn:
                results = self._commit([s for s, _ in group])
        except Exception:
            if len(group) == 1:
                log.exception("writing a batch of %d events failed", len(group[0][0].rows))
                group[0][1].set_exception(_fault())
                return
            # one bad submission must not fail its neighbours: write them one by one
            for item in group:
                self._write_group([item])
            return
        for (_, fut), res in zip(group, results, strict=True):
            fut.set_result(res)

    def _commit(self, batches: list[Prepared]) -> list[WriteResult]:
        for attempt in range(5):
            try:
                with self._engine.connect() as conn:
                    begin_immediate(conn)
                    with conn.begin():
                        return write_batch(conn, batches, now_us=self._clock_us())
            except (IntegrityError, OperationalError):
                # another node committed the same eventId first (PostgreSQL), or a transient
                # lock/serialisation failure: the retry re-reads what is stored
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")


def _fault() -> Exception:
    return RuntimeError("the database refused the write; nothing of this batch was stored")
