"""The data directory and the SQLite files are the owner's only, whatever the umask, and a
server start warns about ones made earlier that others can read."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from llmledger.store import tables as t


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


@pytest.mark.parametrize(
    "umask", [0o022, 0o000, 0o077], ids=["umask 022", "umask 000", "umask 077"], indirect=True
)
def test_the_data_directory_and_database_files_are_private(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "home" / "data"
    settings = Settings(data_dir=data, database_url=None)
    ledger = Ledger.open(settings)
    try:
        with ledger.engine.begin() as conn:  # a write: SQLite makes -wal and -shm
            conn.execute(t.ingest_keys.delete().where(t.ingest_keys.c.id == -1))
        settings.resolved_secret_key()
        db = data / "llmledger.db"
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), data / "secret_key"]
        assert all(f.exists() for f in files)
        assert _mode(data) == 0o700
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        ledger.close()


def test_a_start_warns_about_files_others_can_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db = data / "llmledger.db"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    settings = Settings(data_dir=data, database_url=None, secret_key=SecretStr("a test secret key"))
    with caplog.at_level(logging.WARNING, logger="llmledger"):
        create_app(settings)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(data) in w and "0755" in w and "chmod 700" in w for w in warned), warned
    assert any(str(db) in w and "0644" in w and "chmod 600" in w for w in warned), warned
    # made private: no more warnings
    data.chmod(0o700)
    db.chmod(0o600)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="llmledger"):
        create_app(settings)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
