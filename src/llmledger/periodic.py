"""A round run in a daemon thread at start and then every ``interval`` seconds until ``stop``:
what the server's background work (the alert round, the hourly provider import) shares. A
round's own failures are its business (each logs and counts them); the thread only repeats it
and ends when told."""

from __future__ import annotations

import logging
import threading
from typing import Self

log = logging.getLogger(__name__)

#: how long stopping waits for a round in progress by default
STOP_WAIT_SECONDS = 30.0


class Periodic:
    """``round()`` in a daemon thread named ``name``, at start and then every ``interval``
    seconds (0 or less: never started), until ``stop``; a round returning ``False`` ends the
    thread. ``rounds`` counts the rounds finished, failed ones included."""

    def __init__(self, *, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def round(self) -> bool:
        """One round; ``False`` to end the thread."""
        raise NotImplementedError

    def start(self) -> Self:
        if self.enabled and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Ends the thread after its round in progress, waiting up to ``timeout`` for it."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s still runs after %.0f s; leaving it", self.name, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                go_on = self.round()
            finally:
                self.rounds += 1
            if go_on is False:
                return
            self._stop.wait(self.interval)
