"""WAL checkpoints off the writer's path (SQLite).

In WAL mode a commit only appends pages to the write-ahead log; a *checkpoint* copies them back
into the database file and syncs both files to disk. SQLite runs one automatically inside the
commit that takes the log past 1,000 pages, which during ingest is nearly every commit (a group
of 5,000 events dirties about that many pages), so the writer spent most of each commit waiting
for ``fsync``: 55 ms of a 70 ms commit, measured.

So the ingest writer's commits skip the automatic checkpoint (the writer process's connection
always; the in-thread writer's transactions while they run: ``checkpoints_deferred``), and
``Checkpointer`` runs passive checkpoints from a thread of its own, on its own connection, a few
times a second and only when something was committed. A passive checkpoint never blocks a
writer or a reader: the writer keeps appending while the thread copies and syncs what is
already committed (the sqlite3 driver releases the GIL for the whole call).

One thing the thread cannot do alone: the log starts again from its beginning only when a write
transaction *begins* with every frame already copied, and a busy writer begins its next
transaction as soon as it commits the last, before the thread has copied that one. So between
two transactions the writer calls ``restart_log``: once the log has grown past
``WAL_RESTART_BYTES`` it checkpoints the few frames left itself (everything older was copied by
the thread), and its next transaction starts the log again. The file is then cut back to
``WAL_RESTART_BYTES``. Durability is unchanged: ``synchronous=NORMAL`` never synced on commit,
only in checkpoints.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Connection, Engine

from llmledger.store.engine import NO_AUTOCHECKPOINT, WAL_SIZE_LIMIT, sqlite_file

log = logging.getLogger(__name__)

#: how often the thread looks for new commits to checkpoint
CHECKPOINT_INTERVAL_S = 0.2
#: how long the log may grow before the writer lets it start again (the file is then cut back
#: to this size: every SQLite connection's ``journal_size_limit``)
WAL_RESTART_BYTES = WAL_SIZE_LIMIT


class Checkpointer:
    """Checkpoints the WAL of the SQLite database at ``path`` from a background thread."""

    def __init__(
        self,
        path: str,
        *,
        interval_s: float = CHECKPOINT_INTERVAL_S,
        restart_bytes: int = WAL_RESTART_BYTES,
    ) -> None:
        self._path = path
        self._interval_s = interval_s
        self._restart_bytes = restart_bytes
        self._page_size = 4096
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        #: one checkpoint at a time: a second one would find the first busy and copy nothing
        self._checkpointing = threading.Lock()
        #: frames in the log when the thread last looked
        self.log_frames = 0
        #: checkpoints run by the thread (for tests and diagnostics)
        self.runs = 0
        #: rounds the thread has finished, with or without a checkpoint (for tests)
        self.rounds = 0

    def start(self) -> None:
        """Start the thread (a no-op while it runs)."""
        with self._lifecycle:
            if self._thread is not None:
                return
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(conn, self._stop), name="llmledger-checkpoint", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the thread after one last checkpoint."""
        with self._lifecycle:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._stop.set()
                thread.join()

    @property
    def restart_due(self) -> bool:
        """Whether the log has grown long enough for the writer to ``restart_log``."""
        return self.log_frames * self._page_size > self._restart_bytes

    def restart_log(self, conn: sqlite3.Connection) -> bool:
        """Called by the writer between two transactions, on its own connection: when the log
        has grown long, copy what the thread has not, so that the next transaction starts the
        log again. True when it checkpointed."""
        if not self.restart_due:
            return False
        try:
            _busy, frames, copied = self._checkpoint(conn)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", exc)
            return False
        if copied < frames:  # a reader still needs older frames: try again after the next group
            return False
        self.log_frames = 0
        return True

    def between_transactions(self, engine: Engine) -> None:
        """``restart_log`` on one of the writer's connections, when it is due."""
        if self.restart_due:
            with engine.connect() as conn:
                self.restart_log(conn.connection.driver_connection)  # type: ignore[arg-type]

    def _checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """A passive checkpoint: (busy, frames in the log, frames copied)."""
        with self._checkpointing:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)

    def _run(self, conn: sqlite3.Connection, stop: threading.Event) -> None:
        seen = None
        try:
            while True:
                stopping = stop.wait(self._interval_s)
                seen = self._round(conn, seen)
                self.rounds += 1
                if stopping:
                    return
        finally:
            conn.close()

    def _round(self, conn: sqlite3.Connection, seen: int | None) -> int | None:
        """Checkpoint if another connection committed since ``seen`` (``data_version``
        changes when one does); the version now."""
        try:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            if version != seen:
                _busy, frames, _copied = self._checkpoint(conn)
                self.log_frames = max(0, frames)
                self.runs += 1
            return version
        except Exception:  # never let the thread die: nothing else would checkpoint
            log.exception("WAL checkpoint failed; retrying in the next round")
            return seen


@contextmanager
def checkpoints_deferred(conn: Connection) -> Iterator[None]:
    """Within the block, commits on ``conn`` (SQLite) leave checkpoints to a ``Checkpointer``;
    the connection's own setting is restored after, for whoever uses it next."""
    raw = conn.connection.driver_connection
    if conn.dialect.name != "sqlite" or raw is None:
        yield
        return
    before = int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    for pragma in NO_AUTOCHECKPOINT:
        raw.execute(pragma)
    try:
        yield
    finally:
        # never mask the block's own error; a connection left at 0 is still checkpointed by
        # the thread
        with suppress(sqlite3.Error):
            raw.execute(f"PRAGMA wal_autocheckpoint={before}")


def checkpointer_for(engine: Engine) -> Checkpointer | None:
    """A ``Checkpointer`` for the engine's database when it is a SQLite file (None otherwise:
    PostgreSQL checkpoints itself, and an in-memory database has no log)."""
    path = sqlite_file(engine.url)
    return None if path is None else Checkpointer(path)
