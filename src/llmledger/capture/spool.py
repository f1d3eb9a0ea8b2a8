"""The spool: batches that could not be delivered yet, one gzipped request body per file.

Files are written atomically (temporary name, then rename) so a crash never leaves half a batch,
and are read oldest first. The directory is capped in bytes; a batch past the cap is dropped,
counted and logged. Rejected batches go to ``dead/`` for a human to look at, never re-sent.

Several processes may share one spool (every job on a machine uses the same default directory).
Before sending a batch a process *claims* it by renaming the file to a name that says who holds
it (host, pid, a token of this process, when); a rename succeeds for one process only, so no two
send the same batch. The holder deletes the file once the collector took it, or renames it back
when the collector did not. A claim whose holder died (same host, no such process, or the pid
now belongs to another process) is taken over at once; one from another host, after
``claim_lease`` seconds. So a batch is never lost with its sender, and never sent twice while its
sender lives.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from llmledger.capture.transport import decode

log = logging.getLogger("llmledger")

SUFFIX = ".json.gz"
CLAIMED = ".claimed"
#: how long a claim from another host is honoured (its holder sends once, within its timeout)
CLAIM_LEASE = 300.0

_token: tuple[int, str] = (0, "")


def _holder() -> tuple[int, str]:
    """This process: its pid and a random token, new in each process (a pid is reused)."""
    global _token
    pid = os.getpid()
    if _token[0] != pid:
        _token = (pid, os.urandom(4).hex())
    return _token


def _host() -> str:
    name = socket.gethostname() or "localhost"
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in name)


class Claim:
    """One batch this process holds: send ``body``, then ``done()`` or ``release()``."""

    def __init__(self, path: Path, origin: Path, spool: Spool) -> None:
        self.path = path
        self.origin = origin
        self.spool = spool

    def read(self) -> bytes:
        return self.path.read_bytes()

    def done(self) -> None:
        """The batch is delivered (or dead-lettered): it leaves the spool."""
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Not delivered: back in the spool under its first name, for any process to send."""
        with contextlib.suppress(FileNotFoundError):  # taken over meanwhile: the taker sends it
            os.rename(self.path, self.origin)

    def dead(self, reason: str) -> None:
        """Unreadable: moved to ``dead/`` with the reason, never sent."""
        self.spool.dead_directory.mkdir(parents=True, exist_ok=True)
        target = self.spool.dead_directory / self.origin.name
        with contextlib.suppress(FileNotFoundError):
            os.rename(self.path, target)
            target.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
            log.error("llmledger: a spooled batch cannot be read (%s); kept in %s", reason, target)


class Spool:
    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        *,
        claim_lease: float = CLAIM_LEASE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.dead_directory = self.directory / "dead"
        self.max_bytes = max_bytes
        self.claim_lease = claim_lease
        self.clock = clock
        self.host = _host()
        self.dropped_batches = 0
        self.dropped_events = 0
        self._lock = threading.Lock()

    def _names(self) -> list[str]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return [n for n in names if n.endswith(SUFFIX) or n.endswith(CLAIMED)]

    def _size(self) -> int:
        total = 0
        for name in self._names():
            with contextlib.suppress(FileNotFoundError):
                total += (self.directory / name).stat().st_size
        return total

    def pending(self) -> list[Path]:
        """Batches waiting to be sent, oldest first: the unclaimed ones and those whose holder
        is gone."""
        waiting = [n for n in self._names() if n.endswith(SUFFIX) or self._abandoned(n)]
        return [self.directory / n for n in sorted(waiting, key=_origin)]

    def events_waiting(self) -> int:
        """How many events the spool holds (claimed or not)."""
        return sum(self._events_in(name) for name in self._names())

    def claim(self, path: Path) -> Claim | None:
        """Take a pending batch for sending; None when another process took it first."""
        origin = self.directory / _origin(path.name)
        pid, token = _holder()
        held = f"{origin.name}.{int(self.clock() * 1e9)}-{pid}-{token}-{self.host}{CLAIMED}"
        try:
            os.rename(path, self.directory / held)
        except FileNotFoundError:
            return None
        return Claim(self.directory / held, origin, self)

    def _abandoned(self, name: str) -> bool:
        """Whether the process that claimed ``name`` is gone (or its lease has run out)."""
        try:
            stamp, pid_text, token, host = name[len(_origin(name)) + 1 : -len(CLAIMED)].split(
                "-", 3
            )
            since, pid = int(stamp) / 1e9, int(pid_text)
        except ValueError:
            return True  # not a name this module writes: nobody holds it
        if host == self.host:
            mine = _holder()
            if pid == mine[0]:
                if token != mine[1]:
                    return True  # an earlier process that had our pid
            elif not _running(pid):
                return True
        return self.clock() - since > self.claim_lease

    def _events_in(self, name: str) -> int:
        parts = _origin(name)[: -len(SUFFIX)].split("-")
        if len(parts) == 4 and parts[3].isdigit():
            return int(parts[3])
        try:  # written without the count in its name
            return len(decode((self.directory / name).read_bytes()))
        except Exception:
            return 0

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
            _write_atomic(self.directory, body, f"-{events}")
            return True

    def dead_letter(self, body: bytes, reason: str) -> None:
        """Keep a batch the collector refused, with the reason next to it; never re-sent."""
        path = _write_atomic(self.dead_directory, body, "")
        path.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
        log.error("llmledger: the collector refused a batch (%s); kept in %s", reason, path)


def _origin(name: str) -> str:
    """The name a batch was spooled under (a claimed file's name starts with it)."""
    end = name.find(SUFFIX)
    return name if end < 0 else name[: end + len(SUFFIX)]


def _running(pid: int) -> bool:
    """Whether a process with this pid runs on this host (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: it exists
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or it just ended
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def _write_atomic(directory: Path, body: bytes, tail: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}{tail}{SUFFIX}"
    final = directory / name
    tmp = directory / ("." + name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(body)
    os.replace(tmp, final)
    return final
