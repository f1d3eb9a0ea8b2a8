"""The event writer: one background thread that commits submitted batches with group commit.

Concurrent submissions are drained from a queue and committed together (``write.write_batch``
in one transaction), which both keeps SQLite to a single writer (no "database is locked") and
amortises the commit over many requests. With a writer process (``writer_process``) the thread
forms the groups and the process commits them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from llmledger.events import UsageEvent
from llmledger.ingest.prepare import prepare_events
from llmledger.metrics import metrics
from llmledger.pricing.cost import Pricer
from llmledger.store import open_days
from llmledger.store.write import (
    REFUSED,
    Prepared,
    WriteFailed,
    WriteResult,
    commit_isolated,
    commit_with_retry,
    write_batch,
)

if TYPE_CHECKING:
    from llmledger.ingest.writer_process import WriterProcess
    from llmledger.store.checkpoint import Checkpointer

log = logging.getLogger(__name__)

#: how long a group commit may wait for batches that are still being prepared
GROUP_WAIT_S = 0.05


class WriterOverloaded(RuntimeError):
    """The writer's queue is full; the caller should retry later (HTTP 503)."""


class WriterClosed(RuntimeError):
    """The writer has been closed (the process is shutting down)."""


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
        group_wait_s: float = GROUP_WAIT_S,
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
        self._group_wait_s = group_wait_s
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
    def groups_in_flight(self) -> int:
        """Groups with the writer process, not answered yet (0 without one)."""
        return 0 if self._remote is None else self._remote.groups_in_flight

    @property
    def queue_depth(self) -> int:
        """Batches submitted and not yet taken into a group."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        """Whether the writer thread is up and taking batches (started, not closed)."""
        thread = self._thread
        return not self._closed and thread is not None and thread.is_alive()

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
        ``group_wait_s``, by default ``GROUP_WAIT_S``) for announced batches before it commits."""
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
            deadline = time.monotonic() + self._group_wait_s
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
        m = metrics()
        m.group_events.observe(sum(len(b.rows) for b in batches))
        started = time.perf_counter()
        if remote is not None:
            # the group's futures resolve together when the process answers
            group[-1][1].add_done_callback(
                lambda _: m.commit_seconds.observe(time.perf_counter() - started)
            )
            remote.send(batches, [fut for _, fut in group])  # resolved when the answer comes
            return
        outcomes = commit_isolated(self._commit_in_turn, batches)
        m.commit_seconds.observe(time.perf_counter() - started)
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
