"""Where one batch goes: sent (with retries), halved, spooled, dead-lettered, or sent again
from the spool. Runs on the exporter's thread only; the exporter decides when.

A fresh batch is sent with up to ``max_retries`` retries; one the collector cannot take goes to
the spool, and for ``spool_retry_interval`` afterwards the collector counts as down, so further
batches go straight to the spool instead of stalling the queue. A spooled batch is claimed (see
``spool``) and sent once; if the collector does not take it, it goes back for later.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmledger.capture.config import CaptureConfig
from llmledger.capture.spool import Spool
from llmledger.capture.transport import Outcome, Sender, decode, encode

log = logging.getLogger("llmledger")


class Delivery:
    def __init__(self, config: CaptureConfig, sender: Sender, spool: Spool) -> None:
        self.config = config
        self.sender = sender
        self.spool = spool
        self.sent_events = 0
        self.spooled_batches = 0
        self.dead_batches = 0
        self.reset(threading.Event())

    def reset(self, stop: threading.Event) -> None:
        """A fresh start (a new exporter thread, or a forked child): ``stop`` cuts retries
        short."""
        self.stop = stop
        self.inflight: bytes | None = None  # the fresh batch being sent, for ``close``
        self.down_until = 0.0  # the collector counts as down until then
        self.dirty = True  # the spool may hold batches (from an earlier run, say)
        #: why the collector last failed to take a batch (the exporter clears it)
        self.failure: str | None = None

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until

    # -- fresh batches -------------------------------------------------------------------
    def deliver(self, events: list[dict[str, Any]]) -> None:
        body = encode(events)
        if self.down and not self.stop.is_set():
            self.keep(body, len(events))  # collector known down: don't stall the queue
            return
        self.inflight = body
        try:
            outcome = self._send_with_retries(body)
        finally:
            self.inflight = None
        if outcome.too_large and len(events) > 1:  # the collector's limit is below ours: halve
            half = len(events) // 2
            self.deliver(events[:half])
            self.deliver(events[half:])
            return
        self._settle(body, outcome, events)

    def _send_with_retries(self, body: bytes) -> Outcome:
        cfg = self.config
        attempt = 0
        while True:
            outcome = self.sender.send(body)
            if outcome.ok or not outcome.retry or attempt >= cfg.max_retries:
                return outcome
            if self.stop.is_set():
                return outcome
            delay = outcome.retry_after
            if delay is None:
                delay = cfg.backoff_base * (2**attempt) * (0.5 + random.random())
            self.stop.wait(min(delay, cfg.backoff_max))
            attempt += 1

    def keep(self, body: bytes, events: int) -> None:
        """Spool a batch for later."""
        if self.spool.put(body, max(events, 0)):
            self.spooled_batches += 1
            self.dirty = True

    def _settle(
        self, body: bytes, outcome: Outcome, events: list[dict[str, Any]], *, spooled: bool = False
    ) -> bool:
        """Act on a send's outcome; True when the batch is done with (sent or dead-lettered).
        A fresh batch the collector could not take is spooled; a ``spooled`` one stays."""
        if outcome.ok:
            self.down_until = 0.0
            self.sent_events += len(events)
            self._dead_letter_rejected(outcome, events)
            return True
        if outcome.retry:
            self.down_until = time.monotonic() + self.config.spool_retry_interval
            self.failure = outcome.reason
            if not spooled:
                log.warning("llmledger: collector unavailable (%s); spooling", outcome.reason)
                self.keep(body, len(events))
            return False
        self.dead_batches += 1
        self.spool.dead_letter(body, outcome.reason)
        return True

    def _dead_letter_rejected(self, outcome: Outcome, events: list[dict[str, Any]]) -> None:
        rejected = (outcome.answer or {}).get("rejected") or []
        if not rejected:
            return
        bad = [events[r["index"]] for r in rejected if 0 <= r.get("index", -1) < len(events)]
        reasons = "; ".join(f"#{r.get('index')}: {r.get('errors')}" for r in rejected)
        self.dead_batches += 1
        self.spool.dead_letter(encode(bad), f"{len(bad)} events rejected: {reasons}")

    # -- spooled batches -----------------------------------------------------------------
    def resend_spooled(self, limit: int | None, fresh_waiting: Callable[[], bool]) -> None:
        """Send spooled batches, oldest first (at most ``limit``), until the spool is empty,
        the collector fails, or ``fresh_waiting()`` says a full batch of new events waits."""
        if not self.dirty or self.down:
            return
        sent = 0
        while files := self.spool.pending():
            for path in files:
                if self.stop.is_set() or not self._resend_one(path):
                    return
                sent += 1
                if (limit is not None and sent >= limit) or fresh_waiting():
                    return  # fresh events first; the rest of the spool next round
        self.dirty = False

    def _resend_one(self, path: Path) -> bool:
        """Claim one spooled batch and send it once; False when the collector did not take
        it (it goes back to the spool)."""
        claim = self.spool.claim(path)
        if claim is None:
            return True  # another process is sending it
        try:
            body = claim.read()
            events = decode(body)
        except Exception as exc:  # truncated or not ours: never sendable
            claim.dead(f"{type(exc).__name__}: {exc}")
            return True
        try:
            outcome = self.sender.send(body)
            done = self._settle(body, outcome, events, spooled=True)
        except BaseException:
            claim.release()
            raise
        if done:
            claim.done()
        else:
            claim.release()
        return done
