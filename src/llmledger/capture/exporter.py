"""The exporter: a bounded in-memory queue drained by one daemon thread.

The caller's thread only appends a plain dict to a deque. The thread batches by size or age
and hands each batch to ``delivery``; what cannot be delivered after a few retries goes to the
``Spool`` and is re-sent when the collector answers again. The thread starts on the first
event, or at once when the spool holds batches (an earlier process's, say), so those are sent
without waiting for this process to make a call. Each piece does one job: ``transport`` sends,
``spool`` keeps, ``batching`` shapes events, ``delivery`` settles one batch; this module only
decides when a batch goes.

``flush`` asks the thread for a *flush round*: the queue, then the whole spool, until both are
empty or the collector stops answering; the round's answer says how many events are left in
the spool. The caller waits for that answer, never for the network itself.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any

from llmledger.capture.batching import finalize
from llmledger.capture.config import CaptureConfig
from llmledger.capture.delivery import Delivery
from llmledger.capture.spool import CLAIM_LEASE, Spool
from llmledger.capture.transport import Sender, decode, encode

log = logging.getLogger("llmledger")

#: how many spooled batches one loop re-sends before looking at fresh events again
SPOOL_BATCHES_PER_LOOP = 20

_live: weakref.WeakSet[Exporter] = weakref.WeakSet()


class Exporter:
    def __init__(self, config: CaptureConfig, sender: Sender, spool: Spool | None = None) -> None:
        self.config = config
        self.sender = sender
        self.spool = spool or Spool(
            config.spool_dir,
            config.spool_max_bytes,
            claim_lease=max(CLAIM_LEASE, 3 * config.timeout),  # a holder sends once, in time
        )
        self.delivery = Delivery(config, sender, self.spool)
        self._reset()
        _live.add(self)

    @property
    def sent_events(self) -> int:
        return self.delivery.sent_events

    @property
    def spooled_batches(self) -> int:
        return self.delivery.spooled_batches

    @property
    def dead_batches(self) -> int:
        return self.delivery.dead_batches

    def _reset(self) -> None:
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._closed = False
        self.delivery.reset(self._stop)
        self._flush_asked = 0  # flush rounds asked for / answered, and the last answer
        self._flush_answered = 0
        self._flush_answer: str | None = None
        self._queue_due = 0.0  # when the queue's batch is next sent, full or not
        self._hurry = False  # send the queue now (``close`` waits for it)

    # -- the caller's side -------------------------------------------------------------------
    def submit(self, event: dict[str, Any]) -> None:
        """Queue one event (a plain camelCase dict). Never blocks on the network."""
        queue = self._queue
        if len(queue) >= self.config.queue_size:
            self._overflow()
        queue.append(event)
        if self._thread is None:
            self._start()
        if len(queue) == self.config.batch_size:  # the thread drains everything once woken
            self._wake.set()

    def _overflow(self) -> None:
        """The queue is full (collector slow or down): move the oldest batch to the spool."""
        batch = self._take(self.config.batch_size)
        if batch:
            self.delivery.keep(encode([finalize(e) for e in batch]), len(batch))

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="llmledger-exporter", daemon=True)
            self._queue_due = time.monotonic() + self.config.max_age
            self._thread = thread
            thread.start()

    def deliver_spooled(self) -> None:
        """Start sending what the spool holds (in the background), if it holds anything."""
        if self._thread is None and self.spool.pending():
            self._start()

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver every queued and spooled event; False (and logged) when the collector did not
        take them all (what it did not take is spooled) or on timeout."""
        left = self._flush(timeout)
        if left is not None:
            log.warning("llmledger: flush: %s", left)
        return left is None

    def _flush(self, timeout: float | None) -> str | None:
        """Ask the thread for a flush round and wait for its answer: None when the queue and the
        spool are empty, else what is left and why."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._start()
        with self._idle:
            self._flush_asked += 1
            ticket = self._flush_asked
            self._wake.set()
            while self._flush_answered < ticket:
                if self._thread is None or not self._thread.is_alive():
                    return None if not self._queue else f"{len(self._queue)} events not sent"
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._idle.wait(0.05 if left is None else min(left, 0.05))
            else:
                return self._flush_answer
        return (
            f"timed out after {timeout:g} s; {len(self._queue)} events are queued "
            f"and {self.spool.events_waiting()} spooled in {self.spool.directory}"
        )

    def close(self, timeout: float | None = None, *, spool: bool = True) -> None:
        """Deliver what is queued (and with ``spool``, what is spooled), then stop the thread;
        what could not be sent stays in the spool, and a warning says how many events."""
        if self._closed:
            return
        wait = self.config.exit_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        left = self._flush(wait) if spool else self._drain(wait)
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        leftover = self._take(len(self._queue))
        inflight, self.delivery.inflight = self.delivery.inflight, None
        if inflight is not None:  # the thread is stuck mid-send: keep a copy (ids dedupe)
            self.delivery.keep(inflight, len(decode(inflight)))
        if leftover:
            self.delivery.keep(encode([finalize(e) for e in leftover]), len(leftover))
        if left is not None or leftover or inflight is not None:
            waiting = self.spool.events_waiting()
            if waiting:
                log.warning(
                    "llmledger: %d events could not be delivered (%s); they wait in %s and are "
                    "sent by the next process that configures llmledger with this spool",
                    waiting,
                    self.delivery.failure or "no answer in time",
                    self.spool.directory,
                )
        closer = getattr(self.sender, "close", None)
        if callable(closer):
            closer()

    def _drain(self, timeout: float) -> str | None:
        """Wait until the queue is delivered or spooled (the spool is left to the next
        exporter on it); why not, on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queue or self._busy:
                if self._thread is None or not self._thread.is_alive():
                    break
                self._hurry = True
                self._wake.set()
                left = deadline - time.monotonic()
                if left <= 0:
                    return "timed out"
                self._idle.wait(min(left, 0.05))
        return None

    # -- the thread's side -------------------------------------------------------------------
    def _take(self, n: int) -> list[dict[str, Any]]:
        out = []
        popleft = self._queue.popleft
        for _ in range(n):
            try:
                out.append(popleft())
            except IndexError:
                break
        return out

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            if not stopping and not self._work_waiting():
                self._wake.wait(self.config.max_age)
                self._wake.clear()
            with self._idle:
                self._busy = True
                asked = self._flush_asked
            flushing = asked > self._flush_answered and not stopping
            answer: str | None = "the exporter failed; see the log"
            try:
                if flushing:
                    answer = self._flush_round()
                else:
                    self._round()
            except Exception:  # never let the thread die; the batch is spooled below
                log.exception("llmledger: exporter fault")
                self.delivery.down_until = time.monotonic() + self.config.spool_retry_interval
            finally:
                with self._idle:
                    self._busy = False
                    if flushing:
                        self._flush_answered, self._flush_answer = asked, answer
                    self._idle.notify_all()
            if stopping:
                return

    def _work_waiting(self) -> bool:
        """Whether the thread has something to do now: a full batch, a flush asked for, or
        spooled batches while the collector is not known to be down."""
        return (
            len(self._queue) >= self.config.batch_size
            or self._flush_asked > self._flush_answered
            or self._hurry
            or (self.delivery.dirty and not self.delivery.down)
        )

    def _round(self) -> None:
        """Send the queue when its batch is due (full, ``max_age`` old, or hurried), then some
        of the spool."""
        now = time.monotonic()
        queue = self._queue
        if (
            self._stop.is_set()
            or self._hurry
            or now >= self._queue_due
            or (len(queue) >= self.config.batch_size)
        ):
            self._hurry = False
            self._queue_due = now + self.config.max_age
            while queue:
                self._deliver(self._take(self.config.batch_size))
        if not self._stop.is_set():
            self.delivery.resend_spooled(SPOOL_BATCHES_PER_LOOP, self._fresh_waiting)

    def _flush_round(self) -> str | None:
        """Deliver the queue and then the spool, the collector given a fresh chance; None when
        both are empty, else how many events are left in the spool and why."""
        delivery = self.delivery
        delivery.down_until, delivery.failure, delivery.dirty = 0.0, None, True
        while not self._stop.is_set():
            while self._queue:
                self._deliver(self._take(self.config.batch_size))
            delivery.resend_spooled(None, self._fresh_waiting)
            if delivery.failure is not None:
                return (
                    f"the collector did not take every batch ({delivery.failure}); "
                    f"{self.spool.events_waiting()} events could only be spooled in "
                    f"{self.spool.directory}"
                )
            if not self._queue and not delivery.dirty:
                return None
        return "stopped"

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        self.delivery.deliver([finalize(e) for e in batch])

    def _fresh_waiting(self) -> bool:
        """Whether re-sending the spool should pause for the queue: a full batch waits, or
        ``close`` waits for the queue."""
        return self._hurry or len(self._queue) >= self.config.batch_size


def _close_all() -> None:
    for exporter in list(_live):
        try:
            exporter.close()
        except Exception:  # pragma: no cover - exit must go on
            log.exception("llmledger: flushing at exit failed")


def _after_fork_in_child() -> None:
    # the parent keeps its queue and thread; the child starts empty and lazily
    for exporter in list(_live):
        exporter._reset()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
