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
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from llmledger.events import UsageEvent
from llmledger.pricing.cost import Pricer
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.checkpoint import checkpoints_deferred
from llmledger.store.dialect import insert_ignore, upsert_add
from llmledger.store.engine import begin_immediate
from llmledger.store.prepare import Prepared, prepare_events
from llmledger.store.rows import (
    EVENT_COLUMNS,
    ORG,
    RollupDeltas,
    merge_deltas,
    model_deltas,
    rollup_deltas,
)

if TYPE_CHECKING:
    from llmledger.store.checkpoint import Checkpointer
    from llmledger.store.writer_process import WriterProcess

log = logging.getLogger(__name__)
T = TypeVar("T")
B = TypeVar("B")

_IN_CHUNK = 900
#: how long a group commit may wait for batches that are still being prepared
GROUP_WAIT_S = 0.05


@dataclass(frozen=True, slots=True)
class WriteResult:
    accepted: int
    duplicates: int


class WriteFailed(RuntimeError):
    """A batch was not stored; the transaction rolled back (HTTP 503: resend it)."""


REFUSED = "the database refused the write; nothing of this batch was stored"


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


#: the rollup upserts of a write, in the order ``delta_rows`` lists their rows
_Names = tuple[str, ...]
_UPSERTS: tuple[tuple[str, _Names, _Names, _Names, dict[str, _Names]], ...] = (
    ("rollup_hour", _ROLLUP_COLUMNS, _ROLLUP_KEY, t.ROLLUP_MEASURES, {}),
    ("rollup_hour_model", _MODEL_COLUMNS, _MODEL_KEY, t.ROLLUP_MEASURES, {}),
    ("rollup_day", _ROLLUP_COLUMNS, _ROLLUP_KEY, t.ROLLUP_MEASURES, {}),
    ("rollup_day_model", _MODEL_COLUMNS, _MODEL_KEY, t.ROLLUP_MEASURES, {}),
    (
        "sessions",
        _SESSION_COLUMNS,
        ("org_id", "session_id"),
        _SMALL,
        {"least": ("first_us",), "greatest": ("last_us",), "keep_nonempty": ("user_id",)},
    ),
    ("session_agents", _AGENT_COLUMNS, ("org_id", "session_id", "agent"), _AGENT_COLUMNS[3:], {}),
    ("user_day", _USER_DAY_COLUMNS, ("bucket", "org_id", "user_id"), _SMALL, {}),
)

#: rows to upsert into each rollup table, in ``_UPSERTS`` order (plain data: it can travel to
#: the writer process)
DeltaRows = Sequence[Sequence[Sequence[Any]]]


def delta_rows(d: RollupDeltas, *, ordered: bool) -> DeltaRows:
    """The upsert rows of ``d``. ``ordered`` sorts them by key, so that concurrent PostgreSQL
    writers lock rollup rows in the same order and cannot deadlock (SQLite has one writer, so
    the sort is skipped there)."""
    order = _sorted if ordered else _as_is
    return [
        [(*k, *v) for k, v in order(deltas)]
        for deltas in (
            d.hour,
            model_deltas(d.hour),
            d.day,
            model_deltas(d.day),
            d.sessions,
            d.session_agents,
            d.user_day,
        )
    ]


def apply_delta_rows(conn: Connection, rows: DeltaRows) -> None:
    for (table, columns, key, add, kw), some in zip(_UPSERTS, rows, strict=True):
        upsert_add(conn, table, columns, key, add, some, **kw)


def apply_deltas(conn: Connection, d: RollupDeltas) -> None:
    """Add rollup deltas (negative ones take events out)."""
    apply_delta_rows(conn, delta_rows(d, ordered=conn.dialect.name == "postgresql"))


def _sorted(d: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return sorted(d.items())


def _as_is(d: dict[Any, Any]) -> Any:
    return d.items()


def group_delta_rows(batches: Sequence[Prepared], *, ordered: bool) -> DeltaRows | None:
    """One set of upsert rows for a group of batches: each rollup row is added to once.
    ``None`` when the batches were prepared for different open days (a fold came between
    them): the writer computes the deltas then."""
    if any(b.open_from != batches[0].open_from for b in batches):
        return None
    return delta_rows(merge_deltas([b.deltas for b in batches]), ordered=ordered)


def write_batch(conn: Connection, batches: Sequence[Prepared], *, now_us: int) -> list[WriteResult]:
    """Write prepared batches inside the caller's transaction; one ``WriteResult`` per batch."""
    rows = batches[0].rows if len(batches) == 1 else [r for b in batches for r in b.rows]
    ordered = conn.dialect.name == "postgresql"
    return write_rows(
        conn,
        rows,
        [len(b.rows) for b in batches],
        group_delta_rows(batches, ordered=ordered),
        open_from=batches[0].open_from,
        now_us=now_us,
    )


def write_rows(
    conn: Connection,
    rows: Sequence[Sequence[Any]],
    sizes: Sequence[int],
    deltas: DeltaRows | None,
    *,
    open_from: int,
    now_us: int,
) -> list[WriteResult]:
    """Write event rows (the batches of ``sizes``, one after another) and add ``deltas``, their
    rollup upserts computed for the first open day ``open_from`` (``None``: compute them here),
    inside the caller's transaction. Deltas for another open day than the stored one (a fold
    came after they were prepared) are computed again.

    Duplicates are rare, so the insert is optimistic: ``ON CONFLICT DO NOTHING`` and a count of
    what went in, and the deltas prepared with the rows are added as they are. Only when the
    count falls short (an ``eventId`` was already stored, or sent twice) is the work rolled back
    to a savepoint and done again: look up which ids are stored, keep the first copy of each new
    one, and recompute the deltas from the rows that really go in.
    """
    current = open_days.open_from(conn, lock=True)
    if current != open_from:
        deltas = None
    savepoint = conn.begin_nested()
    inserted = _insert_events(conn, rows)
    if inserted == len(rows):
        results = [WriteResult(n, 0) for n in sizes]
    else:
        savepoint.rollback()
        savepoint = conn.begin_nested()
        stored = _existing_ids(conn, [r[0] for r in rows])
        results, rows = _fresh(rows, sizes, stored)
        inserted = _insert_events(conn, rows)
        if inserted != len(rows):  # another writer got there between our read and insert
            raise IntegrityError("concurrent insert of the same eventId", None, Exception())
        deltas = None
    if rows:
        _ensure_orgs(conn, {r[ORG] for r in rows}, now_us)
        if deltas is None:
            deltas = delta_rows(
                rollup_deltas(rows, open_from=current), ordered=conn.dialect.name == "postgresql"
            )
        apply_delta_rows(conn, deltas)
    savepoint.commit()
    return results


def _fresh(
    rows: Sequence[Sequence[Any]], sizes: Sequence[int], stored: set[str]
) -> tuple[list[WriteResult], list[Sequence[Any]]]:
    """The rows whose ids are neither stored nor seen earlier in ``rows``, with the count of
    accepted and duplicate events per batch."""
    results: list[WriteResult] = []
    fresh: list[Sequence[Any]] = []
    seen = set(stored)
    it = iter(rows)
    for n in sizes:
        accepted = 0
        for _ in range(n):
            r = next(it)
            if r[0] not in seen:
                seen.add(r[0])
                fresh.append(r)
                accepted += 1
        results.append(WriteResult(accepted, n - accepted))
    return results, fresh


def commit_with_retry(
    engine: Engine, work: Callable[[Connection], T], *, defer_checkpoints: bool = False
) -> T:
    """Run ``work`` in a write transaction (``BEGIN IMMEDIATE`` on SQLite), retried on a
    conflict: another node committed the same ``eventId`` first (PostgreSQL), or a transient
    lock or serialisation failure. The retry re-reads what is stored. ``defer_checkpoints``:
    the commit leaves the WAL checkpoint to a ``Checkpointer`` (SQLite)."""
    for attempt in range(5):
        try:
            with (
                engine.connect() as conn,
                checkpoints_deferred(conn) if defer_checkpoints else nullcontext(),
            ):
                begin_immediate(conn)
                with conn.begin():
                    return work(conn)
        except (IntegrityError, OperationalError):
            if attempt == 4:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def commit_isolated(
    commit: Callable[[list[B]], list[WriteResult]], batches: list[B]
) -> list[WriteResult | Exception]:
    """Commit ``batches`` together; when that fails, each alone, so that one bad batch does not
    fail its neighbours. A batch that fails alone gets ``WriteFailed``."""
    try:
        return list(commit(batches))
    except Exception:
        if len(batches) == 1:
            log.exception("writing a batch of events failed")
            return [WriteFailed(REFUSED)]
        return [out for b in batches for out in commit_isolated(commit, [b])]


def _insert_events(conn: Connection, rows: Sequence[Sequence[Any]]) -> int:
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
        remote: WriterProcess | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        self._engine = engine
        #: the writer process that commits for the writer thread (None: the thread commits)
        self._remote = remote
        #: WAL checkpoints for commits made here, when the engine's own are off (SQLite)
        self._checkpointer = checkpointer
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
        #: the first open day as last seen (None: not read yet), and who may fold
        self._open_from: int | None = None
        self._fold_lock = threading.Lock()

    @property
    def has_process(self) -> bool:
        """Whether a writer process commits for this writer (once started)."""
        return self._remote is not None

    @property
    def process_id(self) -> int | None:
        """The writer process's pid (None: the writer thread commits)."""
        return None if self._remote is None else self._remote.pid

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread, and the writer process or the checkpoint thread if there
        is one (a process that cannot start raises here; one that stops later is restarted by
        the next group)."""
        with self._lock:
            if self._thread is None:
                if self._remote is not None:
                    self._remote.start()
                if self._checkpointer is not None:
                    self._checkpointer.start()
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
        if self._remote is not None:
            self._remote.close()
        if self._checkpointer is not None:
            self._checkpointer.close()

    # -- submitting ------------------------------------------------------------------------
    def open_from(self) -> int:
        """The first open day to prepare batches for (see ``store.open_days``). When the clock
        has passed it, the days now over are folded first (once a day: a write transaction of
        its own, which sums a day of hourly rows). A fold that fails is logged and tried again
        with the next batch; batches prepared meanwhile are as right as before it."""
        today = open_days.day_of(self._clock_us())
        mark = self._open_from
        if mark is not None and mark >= today:
            return mark
        with self._fold_lock:
            mark = self._open_from
            if mark is None:
                try:
                    with self._engine.connect() as conn:
                        mark = self._open_from = open_days.open_from(conn)
                except SQLAlchemyError as exc:
                    raise WriteFailed(REFUSED) from exc
            if mark < today:
                try:
                    mark = self._open_from = open_days.fold_closed_days(
                        self._engine,
                        self._clock_us(),
                        # a writer process or a checkpoint thread checkpoints the WAL
                        defer_checkpoints=self._remote is not None
                        or self._checkpointer is not None,
                    )
                except SQLAlchemyError:
                    log.exception("folding the closed days failed; they stay open for now")
        return mark

    def prepare(self, events: Sequence[UsageEvent], *, default_org: str | None = None) -> Prepared:
        """Price ``events`` and compute their deltas on the calling thread."""
        return prepare_events(
            events,
            self._pricer(),
            default_org=default_org,
            received_us=self._clock_us(),
            open_from=self.open_from(),
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
        remote = self._remote
        while True:
            if remote is not None:
                remote.acquire_slot()  # at most two groups are with the writer process
            item = self._queue.get()
            if item is None:
                if remote is not None:
                    remote.release_slot()
                return
            group = [item]
            count = len(item[0].rows)
            deadline = time.monotonic() + GROUP_WAIT_S
            while count < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    # in process, waiting for announced batches makes bigger groups, which cost
                    # less per event; a writer process is not kept waiting (groups grow by
                    # themselves while it writes)
                    if remote is None and self._await_preparations(deadline):
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
        batches = [b for b, _ in group]
        remote = self._remote
        if remote is not None:
            remote.send(batches, [fut for _, fut in group])  # resolved when the answer comes
            return
        outcomes = commit_isolated(self._commit_in_turn, batches)
        for (_, fut), out in zip(group, outcomes, strict=True):
            if isinstance(out, WriteResult):
                fut.set_result(out)
            else:
                fut.set_exception(out)

    def _commit_in_turn(self, batches: list[Prepared]) -> list[WriteResult]:
        with self.turn:
            return self._commit(batches)

    def _commit(self, batches: list[Prepared]) -> list[WriteResult]:
        checkpointer = self._checkpointer
        if checkpointer is not None:
            checkpointer.start()  # direct writes start it too (a no-op once running)
        results = commit_with_retry(
            self._engine,
            lambda conn: write_batch(conn, batches, now_us=self._clock_us()),
            defer_checkpoints=checkpointer is not None,
        )
        if checkpointer is not None:
            checkpointer.between_transactions(self._engine)
        return results
