"""The exporter: a bounded in-memory queue drained by one daemon thread.

The caller's thread only appends a plain dict to a deque. The thread batches by size or age,
gzips, and hands the body to a ``Sender``; what cannot be delivered after a few retries goes to
the ``Spool`` and is re-sent when the collector answers again (or at the next start). Each piece
does one job: ``transport`` sends, ``spool`` keeps, ``batching`` shapes events, this module only
decides when and where a batch goes.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from typing import Any

from llmledger.capture.batching import finalize
from llmledger.capture.config import CaptureConfig
from llmledger.capture.spool import Spool
from llmledger.capture.transport import Outcome, Sender, decode, encode

log = logging.getLogger("llmledger")

#: how many spooled batches one loop re-sends before looking at fresh events again
SPOOL_BATCHES_PER_LOOP = 20

_live: weakref.WeakSet[Exporter] = weakref.WeakSet()


class Exporter:
    def __init__(self, config: CaptureConfig, sender: Sender, spool: Spool | None = None) -> None:
        self.config = config
        self.sender = sender
        self.spool = spool or Spool(config.spool_dir, config.spool_max_bytes)
        self.sent_events = 0
        self.spooled_batches = 0
        self.dead_batches = 0
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._inflight: bytes | None = None
        self._down_until = 0.0
        self._spool_dirty = True  # batches from an earlier run may be waiting
        self._closed = False

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
            self._spool(encode([finalize(e) for e in batch]), len(batch))

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="llmledger-exporter", daemon=True)
            self._thread = thread
            thread.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event is delivered or spooled; False on timeout."""
        if self._thread is None and self._queue:
            self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._queue or self._busy:
                if self._thread is None or not self._thread.is_alive():
                    return not self._queue
                self._wake.set()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(0.05 if left is None else min(left, 0.05))
        return True

    def close(self, timeout: float | None = None) -> None:
        """Deliver (or spool) what is queued and stop the thread."""
        wait = self.config.exit_timeout if timeout is None else timeout
        self.flush(wait)
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)
        leftover = self._take(len(self._queue))
        inflight, self._inflight = self._inflight, None
        if inflight is not None:  # the thread is stuck mid-send: keep a copy (ids dedupe)
            self._spool(inflight, -1)
        if leftover:
            self._spool(encode([finalize(e) for e in leftover]), len(leftover))
        closer = getattr(self.sender, "close", None)
        if callable(closer):
            closer()

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
            if not stopping and len(self._queue) < self.config.batch_size:
                self._wake.wait(self.config.max_age)
                self._wake.clear()
            with self._idle:
                self._busy = True
            try:
                while self._queue:
                    self._deliver(self._take(self.config.batch_size))
                if not self._stop.is_set():
                    self._resend_spooled()
            except Exception:  # never let the thread die; the batch is spooled below
                log.exception("llmledger: exporter fault")
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()
            if stopping:
                return

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        self._deliver_events([finalize(e) for e in batch])

    def _deliver_events(self, events: list[dict[str, Any]]) -> None:
        body = encode(events)
        if time.monotonic() < self._down_until and not self._stop.is_set():
            self._spool(body, len(events))  # collector known down: don't stall the queue
            return
        self._inflight = body
        try:
            outcome = self._send_with_retries(body)
        finally:
            self._inflight = None
        if outcome.too_large and len(events) > 1:  # the collector's limit is below ours: halve
            half = len(events) // 2
            self._deliver_events(events[:half])
            self._deliver_events(events[half:])
            return
        self._settle(body, outcome, events)

    def _send_with_retries(self, body: bytes) -> Outcome:
        cfg = self.config
        attempt = 0
        while True:
            outcome = self.sender.send(body)
            if outcome.ok or not outcome.retry or attempt >= cfg.max_retries:
                return outcome
            if self._stop.is_set():
                return outcome
            delay = outcome.retry_after
            if delay is None:
                delay = cfg.backoff_base * (2**attempt) * (0.5 + random.random())
            self._stop.wait(min(delay, cfg.backoff_max))
            attempt += 1

    def _settle(self, body: bytes, outcome: Outcome, events: list[dict[str, Any]] | None) -> bool:
        """Act on a send's outcome; True when the batch is done with (sent or dead-lettered)."""
        if outcome.ok:
            self._down_until = 0.0
            self.sent_events += len(events) if events is not None else 0
            self._dead_letter_rejected(body, outcome, events)
            return True
        if outcome.retry:
            self._down_until = time.monotonic() + self.config.spool_retry_interval
            if events is not None:
                log.warning("llmledger: collector unavailable (%s); spooling", outcome.reason)
                self._spool(body, len(events))
            return False
        self.dead_batches += 1
        self.spool.dead_letter(body, outcome.reason)
        return True

    def _dead_letter_rejected(
        self, body: bytes, outcome: Outcome, events: list[dict[str, Any]] | None
    ) -> None:
        rejected = (outcome.answer or {}).get("rejected") or []
        if not rejected:
            return
        events = events if events is not None else decode(body)
        bad = [events[r["index"]] for r in rejected if 0 <= r.get("index", -1) < len(events)]
        reasons = "; ".join(f"#{r.get('index')}: {r.get('errors')}" for r in rejected)
        self.dead_batches += 1
        self.spool.dead_letter(encode(bad), f"{len(bad)} events rejected: {reasons}")

    def _spool(self, body: bytes, events: int) -> None:
        if self.spool.put(body, max(events, 0)):
            self.spooled_batches += 1
            self._spool_dirty = True

    def _resend_spooled(self) -> None:
        if not self._spool_dirty or time.monotonic() < self._down_until:
            return
        files = self.spool.pending()
        for path in files[:SPOOL_BATCHES_PER_LOOP]:
            body = self.spool.read(path)
            if body is None:
                continue
            outcome = self.sender.send(body)
            if outcome.ok:
                self.sent_events += len(decode(body))
            if not self._settle(body, outcome, None):
                return
            self.spool.remove(path)
            if self._queue and len(self._queue) >= self.config.batch_size:
                return  # fresh events first; the rest of the spool next loop
        self._spool_dirty = len(files) > SPOOL_BATCHES_PER_LOOP


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
