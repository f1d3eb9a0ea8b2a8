"""The event writer in a process of its own (the server's default: ``LLMLEDGER_WRITER``).

One Python process runs one thread of Python at a time. Ingest has two halves of about equal
weight: preparing a batch (decoding, checking, pricing, rollup deltas; pure Python) and writing
it (inside SQLite, or building PostgreSQL's arrays). In one process they take turns; here the
server prepares while a child process writes, so the two halves use two cores.

The server's writer thread still forms the group commits. For each group it sends the child the
event rows and the group's merged rollup upserts as one msgpack message (plain lists: far
cheaper to encode and decode than pickled objects); a receiver thread resolves each batch's
future from the child's answer. Two groups may be in flight, so the next one is already waiting
when the child finishes one. The
child writes them with the same ``write_rows`` as the in-process writer, in one transaction;
when that fails it writes the batches one by one, so one bad batch does not fail its neighbours.

The child stops when the server asks it to, or when the pipe closes because the server died. If
the child dies, the batches in flight get ``WriteFailed`` (HTTP 503: resend them; their
``eventId``s make that safe whether or not they were committed) and the next group starts a
new child.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import logging
import multiprocessing
import signal
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import Connection as Pipe
from typing import Any

import msgspec

from llmledger.settings import Settings
from llmledger.store.write import (
    REFUSED,
    Prepared,
    WriteFailed,
    WriteResult,
    commit_isolated,
    commit_with_retry,
    group_delta_rows,
    write_rows,
)

log = logging.getLogger(__name__)

#: how long the server waits for a new writer process to open the database
START_TIMEOUT_S = 120
_READY = b"ready"
_STOP = b""
_Row = tuple[Any, ...]
_encode = msgspec.msgpack.Encoder().encode
#: a group: event rows, batch sizes, upsert rows per rollup table (rows decode as tuples, which
#: is what the database driver binds)
_decode_group = msgspec.msgpack.Decoder(
    tuple[list[_Row], list[int], list[list[_Row]] | None, int]
).decode
_decode_outcomes = msgspec.msgpack.Decoder(list[tuple[int, int] | None]).decode
_UNSENDABLE = (msgspec.EncodeError, OverflowError, TypeError)
_LOST = (
    "the writer process stopped during the write; resend the batch (eventIds make re-sending "
    "safe whether or not it was stored)"
)


class _Link:
    """One writer process, and the futures of the groups sent to it, oldest first (it answers
    in order)."""

    def __init__(self, proc: Any, pipe: Pipe) -> None:
        self.proc = proc
        self.pipe = pipe
        self.alive = True
        self.inflight: collections.deque[list[Future[WriteResult]]] = collections.deque()
        self.lock = threading.Lock()


class WriterProcess:
    """The server's side of the writer process.

    The writer thread takes a slot (``acquire_slot``), forms a group and ``send``s it; a
    receiver thread resolves the group's futures when the answer comes and frees the slot. Two
    slots keep the next group waiting in the pipe while the child writes one, so the child never
    waits for the server to encode.
    """

    SLOTS = 2

    def __init__(self, settings: Settings, *, ordered: bool) -> None:
        self._settings = settings
        self._ordered = ordered  # PostgreSQL: upserts in key order (see ``delta_rows``)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.SLOTS)
        self._link: _Link | None = None

    @property
    def pid(self) -> int | None:
        link = self._link
        return None if link is None else int(link.proc.pid)

    @property
    def groups_in_flight(self) -> int:
        """Groups sent to the writer process and not answered yet."""
        link = self._link
        return 0 if link is None else len(link.inflight)

    def acquire_slot(self) -> None:
        self._slots.acquire()

    def release_slot(self) -> None:
        self._slots.release()

    def start(self) -> None:
        """Start the writer process (unless it is running) and wait until it is ready; raise
        ``RuntimeError`` when it cannot start."""
        with self._lock:
            link = self._link
            if link is not None and link.alive:
                return
            if link is not None:
                _reap(link)
            self._link = self._spawn()

    def _spawn(self) -> _Link:
        ctx = multiprocessing.get_context("spawn")
        here, there = ctx.Pipe()
        proc = ctx.Process(
            target=_main, args=(there, self._settings), name="llmledger-writer", daemon=True
        )
        proc.start()
        there.close()
        try:
            if not here.poll(START_TIMEOUT_S):
                raise EOFError
            hello = here.recv_bytes()
        except (EOFError, OSError):
            hello = b"the writer process did not start"
        if hello != _READY:
            here.close()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
            raise RuntimeError(hello.decode("utf-8", "replace"))
        link = _Link(proc, here)
        threading.Thread(
            target=self._receive, args=(link,), name="llmledger-writer-answers", daemon=True
        ).start()
        return link

    def send(self, batches: list[Prepared], futures: list[Future[WriteResult]]) -> None:
        """Send a group (the caller holds a slot, which the answer frees)."""
        if not any(b.rows for b in batches):
            for fut in futures:
                fut.set_result(WriteResult(0, 0))
            self._slots.release()
            return
        try:
            message = self._encode(batches)
        except _UNSENDABLE:
            batches, futures = self._sendable(batches, futures)
            if not batches:
                self._slots.release()
                return
            message = self._encode(batches)
        try:
            self.start()
        except RuntimeError as exc:
            log.error("%s", exc)
            _fail(futures, f"{exc}; nothing of this batch was stored")
            self._slots.release()
            return
        link = self._link
        assert link is not None
        with link.lock:
            if not link.alive:  # it died after start() looked: this group was never sent
                _fail(futures, _LOST)
                self._slots.release()
                return
            link.inflight.append(futures)
        try:
            link.pipe.send_bytes(message)
        except OSError as exc:
            self._lost(link, exc)

    def _encode(self, batches: list[Prepared]) -> bytes:
        return _encode(
            (
                [r for b in batches for r in b.rows],
                [len(b.rows) for b in batches],
                group_delta_rows(batches, ordered=self._ordered),
                batches[0].open_from,
            )
        )

    def _sendable(
        self, batches: list[Prepared], futures: list[Future[WriteResult]]
    ) -> tuple[list[Prepared], list[Future[WriteResult]]]:
        """The batches that can be encoded; the others fail (a value out of 64-bit range)."""
        keep: list[tuple[Prepared, Future[WriteResult]]] = []
        for batch, fut in zip(batches, futures, strict=True):
            try:
                self._encode([batch])
            except _UNSENDABLE:
                log.exception("a batch of %d events cannot be sent to the writer", len(batch.rows))
                fut.set_exception(WriteFailed(REFUSED))
            else:
                keep.append((batch, fut))
        return [b for b, _ in keep], [f for _, f in keep]

    def _receive(self, link: _Link) -> None:
        """Resolve each group's futures with the child's answer, in the order sent."""
        while True:
            try:
                reply = _decode_outcomes(link.pipe.recv_bytes())
            except (EOFError, OSError) as exc:
                self._lost(link, exc)
                return
            with link.lock:
                futures = link.inflight.popleft()
            for fut, out in zip(futures, reply, strict=True):
                if out is None:
                    fut.set_exception(WriteFailed(REFUSED))
                else:
                    fut.set_result(WriteResult(*out))
            self._slots.release()

    def _lost(self, link: _Link, exc: BaseException) -> None:
        """The writer process is gone: fail what it had not answered (the next group starts a
        new one)."""
        with link.lock:
            if not link.alive:
                return
            link.alive = False
            lost = list(link.inflight)
            link.inflight.clear()
        if lost:
            log.error(
                "the writer process stopped (exit code %s) with %d groups unanswered: %s",
                link.proc.exitcode,
                len(lost),
                exc or "end of pipe",
            )
        for futures in lost:
            _fail(futures, _LOST)
            self._slots.release()

    def close(self, timeout: float = 30) -> None:
        """Wait for the answers still due, then stop the writer process."""
        deadline = time.monotonic() + timeout
        taken = 0
        for _ in range(self.SLOTS):
            if self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                taken += 1
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            _reap(link)
        for _ in range(taken):
            self._slots.release()


def _fail(futures: list[Future[WriteResult]], message: str) -> None:
    for fut in futures:
        if not fut.done():
            fut.set_exception(WriteFailed(message))


def _reap(link: _Link) -> None:
    """Ask the child to stop, wait for it, then close the pipe. (Closing first would not do:
    the receiver thread's pending read keeps the pipe open, so the child would never see its
    end.)"""
    link.alive = False
    with contextlib.suppress(OSError):
        link.pipe.send_bytes(_STOP)
    link.proc.join(10)
    if link.proc.is_alive():
        link.proc.kill()
        link.proc.join(5)
    link.pipe.close()


# -- the child ---------------------------------------------------------------------------------
def _main(pipe: Pipe, settings: Settings) -> None:
    """The writer process: open the database, then write groups until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s:     [writer] %(message)s"
    )
    try:
        from llmledger.store.checkpoint import checkpointer_for
        from llmledger.store.engine import make_engine

        engine = make_engine(settings, autocheckpoint=False)
        with engine.connect():
            pass
        checkpointer = checkpointer_for(engine)
        if checkpointer is not None:
            checkpointer.start()
    except Exception as exc:
        pipe.send_bytes(f"the writer process cannot open the database: {exc}".encode())
        return
    # The imported modules are never garbage: freeze them out of the collector's sight. A group
    # is a few hundred thousand fresh tuples that die together, which the cyclic collector
    # would scan again and again as they age; the writer makes no reference cycles of its own,
    # so it collects between groups instead.
    gc.collect()
    gc.freeze()
    gc.disable()
    pipe.send_bytes(_READY)
    written = 0
    while True:
        try:
            message = pipe.recv_bytes()
        except (EOFError, OSError):  # the server is gone
            break
        if message == _STOP:
            break
        rows, sizes, deltas, open_from = _decode_group(message)
        outcomes = write_group(engine, rows, sizes, deltas, open_from)
        del rows, deltas
        try:
            pipe.send_bytes(_encode(outcomes))
        except OSError:
            break
        if checkpointer is not None:  # after the answer
            checkpointer.between_transactions(engine)
        written += 1
        if written % 64 == 0:
            gc.collect()
    if checkpointer is not None:
        checkpointer.close()
    engine.dispose()


def write_group(
    engine: Any,
    rows: list[_Row],
    sizes: list[int],
    deltas: list[list[_Row]] | None,
    open_from: int,
) -> list[tuple[int, int] | None]:
    """Write the group in one transaction; when that fails, batch by batch (each with its own
    deltas, computed here: ``deltas`` are the whole group's). ``None`` marks a batch that was
    not stored."""
    parts = list(zip(itertools.accumulate(sizes[:-1], initial=0), sizes, strict=True))

    def commit(some: list[tuple[int, int]]) -> list[WriteResult]:
        if len(some) == len(parts):
            mine, ns, d = rows, sizes, deltas
        else:
            ((start, n),) = some
            mine, ns, d = rows[start : start + n], [n], None
        return commit_with_retry(
            engine,
            lambda conn: write_rows(
                conn, mine, ns, d, open_from=open_from, now_us=time.time_ns() // 1000
            ),
        )

    return [
        (out.accepted, out.duplicates) if isinstance(out, WriteResult) else None
        for out in commit_isolated(commit, parts)
    ]
