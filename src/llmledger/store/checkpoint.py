"""WAL checkpoints off the writer's path (SQLite).

In WAL mode a commit only appends pages to the write-ahead log; a *checkpoint* copies them back
into the database file and syncs both files to disk. SQLite runs one automatically inside the
commit that takes the log past 1,000 pages, which during ingest is nearly every commit (a group
of 5,000 events dirties about that many pages), so the writer spent most of each commit waiting
for ``fsync``: 55 ms of a 70 ms commit, measured.

The writer's connections therefore turn the automatic checkpoint off, and ``Checkpointer`` runs
passive checkpoints from a thread of its own, on its own connection, a few times a second and
only when something was committed. A passive checkpoint never blocks a writer or a reader: the
writer keeps appending while the thread copies and syncs what is already committed (the sqlite3
driver releases the GIL for the whole call). When the log has been copied in full, the next
write transaction starts it again from the beginning, and ``journal_size_limit`` trims the file.
Durability is unchanged: ``synchronous=NORMAL`` never synced on commit, only in checkpoints.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import Engine

log = logging.getLogger(__name__)

#: how often the thread looks for new commits to checkpoint
CHECKPOINT_INTERVAL_S = 0.2
#: the log file is cut back to this size when it restarts (it may grow past it under load)
WAL_SIZE_LIMIT = 64 * 1024 * 1024
#: pragmas for connections whose commits leave checkpoints to a ``Checkpointer``
NO_AUTOCHECKPOINT = ("PRAGMA wal_autocheckpoint=0", f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")


class Checkpointer:
    """Checkpoints the WAL of the SQLite database at ``path`` from a background thread."""

    def __init__(self, path: str, *, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: checkpoints run (for tests and diagnostics)
        self.runs = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="llmledger-checkpoint", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the thread after one last checkpoint."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _run(self, conn: sqlite3.Connection) -> None:
        seen = None
        try:
            while True:
                stopping = self._stop.wait(self._interval_s)
                seen = self._round(conn, seen)
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
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.runs += 1
            return version
        except sqlite3.Error as exc:  # the next round retries; the log only grows meanwhile
            log.warning("WAL checkpoint failed: %s", exc)
            return seen


def checkpointer_for(engine: Engine) -> Checkpointer | None:
    """A ``Checkpointer`` for the engine's database when it is a SQLite file (None otherwise:
    PostgreSQL checkpoints itself, and an in-memory database has no log)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Checkpointer(database)
