"""The spool: batches that could not be delivered yet, one gzipped request body per file.

Files are written atomically (temporary name, then rename) so a crash never leaves half a batch,
and are read oldest first. The directory is capped in bytes; a batch past the cap is dropped,
counted and logged. Rejected batches go to ``dead/`` for a human to look at, never re-sent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger("llmledger")

SUFFIX = ".json.gz"


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.dead_directory = self.directory / "dead"
        self.max_bytes = max_bytes
        self.dropped_batches = 0
        self.dropped_events = 0
        self._lock = threading.Lock()

    def _size(self) -> int:
        total = 0
        for path in self._files():
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def _files(self) -> list[Path]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(self.directory / n for n in names if n.endswith(SUFFIX))

    def pending(self) -> list[Path]:
        """Spooled batches, oldest first."""
        return self._files()

    def put(self, body: bytes, events: int) -> bool:
        """Keep one batch for later; False (and counted) when the spool is full."""
        with self._lock:
            if self._size() + len(body) > self.max_bytes:
                self.dropped_batches += 1
                self.dropped_events += events
                log.error(
                    "llmledger: spool %s is full (%d bytes); dropped a batch of %d events "
                    "(%d events dropped so far)",
                    self.directory,
                    self.max_bytes,
                    events,
                    self.dropped_events,
                )
                return False
            _write_atomic(self.directory, body)
            return True

    def dead_letter(self, body: bytes, reason: str) -> None:
        """Keep a batch the collector refused, with the reason next to it; never re-sent."""
        path = _write_atomic(self.dead_directory, body)
        path.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
        log.error("llmledger: the collector refused a batch (%s); kept in %s", reason, path)

    @staticmethod
    def read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:  # another process sent it meanwhile
            return None

    @staticmethod
    def remove(path: Path) -> None:
        path.unlink(missing_ok=True)


def _write_atomic(directory: Path, body: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}{SUFFIX}"
    final = directory / name
    tmp = directory / ("." + name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(body)
    os.replace(tmp, final)
    return final
