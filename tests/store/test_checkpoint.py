"""WAL checkpoints off the writer's path: commits of a writer without automatic checkpoints
leave the pages in the log, and the ``Checkpointer`` thread copies them into the database."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store.checkpoint import Checkpointer, checkpointer_for
from llmledger.store.engine import NO_AUTOCHECKPOINT, make_engine
from llmledger.store.write import commit_with_retry
from tests.support.events import usage_events

PAGE = 4096


def _writer(path: Path) -> sqlite3.Connection:
    """A writer connection as the writer process makes it: WAL, no automatic checkpoint."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for pragma in NO_AUTOCHECKPOINT:
        conn.execute(pragma)
    conn.execute("CREATE TABLE blobs (b BLOB)")
    return conn


def _commit_pages(conn: sqlite3.Connection, pages: int) -> None:
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO blobs VALUES (?)", [(os.urandom(PAGE),)] * pages)
    conn.execute("COMMIT")


def _until(check, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    """Wait for ``check`` with a deadline generous enough for a loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_without_a_checkpointer_commits_stay_in_the_log(tmp_path):
    """The control: with automatic checkpoints off, nothing reaches the database file."""
    path = tmp_path / "db.sqlite"
    conn = _writer(path)
    before = path.stat().st_size
    _commit_pages(conn, 2000)  # twice the automatic checkpoint's threshold
    assert path.stat().st_size == before
    assert Path(f"{path}-wal").stat().st_size > 2000 * PAGE
    conn.close()


def test_the_checkpointer_copies_commits_into_the_database(tmp_path):
    path = tmp_path / "db.sqlite"
    conn = _writer(path)
    checkpointer = Checkpointer(str(path), interval_s=0.05)
    checkpointer.start()
    try:
        for _ in range(3):
            _commit_pages(conn, 700)
        assert _until(lambda: path.stat().st_size >= 2100 * PAGE)
        # once a round has seen the last commit, later rounds find nothing new to checkpoint
        seen_rounds = checkpointer.rounds
        assert _until(lambda: checkpointer.rounds > seen_rounds + 1)
        runs, seen_rounds = checkpointer.runs, checkpointer.rounds
        assert _until(lambda: checkpointer.rounds > seen_rounds + 3)
        assert checkpointer.runs == runs
        # every later commit is copied by a round of its own
        for _ in range(10):
            runs = checkpointer.runs
            _commit_pages(conn, 700)
            assert _until(lambda: checkpointer.runs > runs)  # noqa: B023
        assert path.stat().st_size >= 9100 * PAGE
    finally:
        checkpointer.close()
        conn.close()


def test_a_log_copied_between_commits_starts_again(tmp_path):
    """Once a round has copied the log, the next transaction writes it from the start: ten
    commits leave it the size of one. The round runs by hand between the commits, as the thread
    runs it when the writer pauses; with the thread itself, a round that reads while the next
    transaction begins leaves that transaction to append instead (how often depends on the
    machine's load), and ``restart_log`` bounds what that can add (the test below)."""
    path = tmp_path / "db.sqlite"
    conn = _writer(path)
    watcher = sqlite3.connect(path, isolation_level=None)
    checkpointer = Checkpointer(str(path))  # no thread
    seen = None
    try:
        for _ in range(10):
            _commit_pages(conn, 700)
            seen = checkpointer._round(watcher, seen)
        assert checkpointer.runs == 10
        assert path.stat().st_size >= 7000 * PAGE
        assert Path(f"{path}-wal").stat().st_size < 1000 * PAGE  # one commit's frames
    finally:
        watcher.close()
        conn.close()


def _never_pausing_writer(path: Path, *, restart: bool) -> tuple[int, int]:
    """64 transactions of 128 pages (32 MB) by a writer that begins each one before the
    checkpoint of the one before has run, as a busy writer does; (log file size, restarts).

    The checkpoint thread's round is run by hand while each transaction is open, in the order a
    busy writer meets it, so what the log does depends on SQLite's rules, not on how fast this
    machine's disk syncs."""
    conn = _writer(path)
    watcher = sqlite3.connect(path, isolation_level=None)
    checkpointer = Checkpointer(str(path), restart_bytes=RESTART_BYTES)  # no thread
    seen = None
    restarts = 0
    for _ in range(64):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO blobs VALUES (?)", (os.urandom(PAGE),))  # holds a snapshot
        seen = checkpointer._round(watcher, seen)  # copies everything committed before
        conn.executemany("INSERT INTO blobs VALUES (?)", [(os.urandom(PAGE),)] * 127)
        conn.execute("COMMIT")
        if restart and checkpointer.restart_log(conn):
            restarts += 1
    wal = Path(f"{path}-wal").stat().st_size
    watcher.close()
    conn.close()
    return wal, restarts


RESTART_BYTES = 2 * 1024 * 1024


def test_a_writer_that_never_pauses_restarts_the_log(tmp_path):
    """Back-to-back transactions never begin with the log fully copied, so without
    ``restart_log`` the log holds everything ever written (the control, measured here too);
    with it, the log starts again each time it passes ``restart_bytes``."""
    control, none = _never_pausing_writer(tmp_path / "control.sqlite", restart=False)
    wal, restarts = _never_pausing_writer(tmp_path / "restarts.sqlite", restart=True)
    assert none == 0
    assert control >= 64 * 128 * PAGE
    assert restarts >= 8  # 32 MB written, a restart about every 2.5 MB
    assert wal <= RESTART_BYTES + 3 * 128 * PAGE  # past the limit by two transactions at most
    assert wal < control / 8


def test_restart_waits_for_a_reader_of_older_frames(tmp_path):
    """A reader in an old snapshot keeps frames from being copied: the writer's checkpoint
    reports it and stays due, and succeeds once the reader is done."""
    path = tmp_path / "db.sqlite"
    conn = _writer(path)
    _commit_pages(conn, 10)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM blobs").fetchone()  # holds this snapshot
    _commit_pages(conn, 300)
    checkpointer = Checkpointer(str(path), restart_bytes=100 * PAGE)  # not started: no thread
    checkpointer.log_frames = 320
    assert checkpointer.restart_log(conn) is False
    assert checkpointer.restart_due
    reader.execute("COMMIT")
    assert checkpointer.restart_log(conn) is True
    assert not checkpointer.restart_due
    reader.close()
    conn.close()


def test_close_checkpoints_what_was_committed_last(tmp_path):
    path = tmp_path / "db.sqlite"
    conn = _writer(path)
    checkpointer = Checkpointer(str(path), interval_s=60)
    checkpointer.start()
    _commit_pages(conn, 500)
    checkpointer.close()
    assert path.stat().st_size >= 500 * PAGE
    conn.close()


def test_checkpointer_for_a_file_only(tmp_path):
    file_db = make_engine(Settings(data_dir=tmp_path))
    memory = make_engine(Settings(data_dir=tmp_path, database_url="sqlite://"))
    assert checkpointer_for(file_db) is not None
    assert checkpointer_for(memory) is None
    file_db.dispose()
    memory.dispose()


def test_engine_without_autocheckpoint(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path), autocheckpoint=False)
    default = make_engine(Settings(data_dir=tmp_path))
    with engine.connect() as off, default.connect() as on:
        assert off.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert on.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    engine.dispose()
    default.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("writer", ["process", "thread"])
def test_the_writer_checkpoints(ledger: Ledger, writer: str):
    """Ingest reaches the database file, not only the log, whether the writer is a process or
    a thread of this one; closing the ledger stops the checkpoint thread."""
    path = Path(str(ledger.engine.url.database))
    before = path.stat().st_size
    earlier = set(threading.enumerate())  # other tests' ledgers may still run theirs
    ledger.writer.start()
    for _ in range(4):
        ledger.writer.submit(ledger.writer.prepare(usage_events(2000))).result(timeout=60)
    # 8,000 events fill fewer pages than SQLite's own checkpoint threshold (1,000): only a
    # checkpoint thread copies them
    assert _until(lambda: path.stat().st_size > before + 200 * PAGE)
    ledger.close()
    mine = set(threading.enumerate()) - earlier
    assert not [t for t in mine if t.name == "llmledger-checkpoint"]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("writer", ["process", "thread"])
def test_other_writes_keep_sqlite_checkpoints(ledger: Ledger):
    """Only the ingest writer's own transactions leave checkpoints to the thread: every other
    use of the ledger's connections (the CLI's changes, prune, the server's own writes) keeps
    SQLite's, even right after an ingest commit on the same pooled connection."""
    assert ledger.write(usage_events(10)).accepted == 10
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000


def test_a_writer_transaction_defers_checkpoints(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path), pool_size=1, max_overflow=0)
    seen = commit_with_retry(
        engine,
        lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar(),
        defer_checkpoints=True,
    )
    assert seen == 0
    with engine.connect() as conn:  # the same connection, handed on
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    engine.dispose()
