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


def _until(check, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
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
    time.sleep(0.5)
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
        time.sleep(0.2)  # the round that copied them has finished
        runs = checkpointer.runs
        time.sleep(0.3)  # no commit since: no more checkpoints
        assert checkpointer.runs == runs
        # the log restarts once copied: more commits do not grow it past what one round wrote
        for _ in range(10):
            runs = checkpointer.runs
            _commit_pages(conn, 700)
            assert _until(lambda: checkpointer.runs > runs)  # noqa: B023
        assert path.stat().st_size >= 9100 * PAGE
        assert Path(f"{path}-wal").stat().st_size < 3000 * PAGE  # the size of the first round
    finally:
        checkpointer.close()
        conn.close()


@pytest.mark.parametrize("restarts", [False, True])
def test_a_writer_that_never_pauses_restarts_the_log(tmp_path, restarts):
    """Back-to-back transactions never begin with the log fully copied, so the log restarts
    only when the writer calls ``restart_log`` between them (the control: without it the log
    holds everything ever written)."""
    path = tmp_path / "db.sqlite"
    conn = _writer(path)
    mb = 1024 * 1024
    checkpointer = Checkpointer(str(path), interval_s=0.01, restart_bytes=2 * mb)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 20
        for _ in range(64):  # 32 MB
            _commit_pages(conn, 128)
            if restarts:
                checkpointer.restart_log(conn)
            assert time.monotonic() < deadline
    finally:
        checkpointer.close()
    wal = Path(f"{path}-wal").stat().st_size
    conn.close()
    if restarts:
        assert wal < 8 * mb
    else:
        assert wal > 24 * mb


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
