"""Engines for SQLite (WAL, one writer) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url

from llmledger.settings import Settings
from llmledger.store.files import create_private_file

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: the WAL file is cut back to this size when the log restarts (it may grow past it meanwhile)
WAL_SIZE_LIMIT = 32 * 1024 * 1024
#: for connections whose commits leave WAL checkpoints to a ``store.checkpoint.Checkpointer``
NO_AUTOCHECKPOINT = ("PRAGMA wal_autocheckpoint=0",)


def sqlite_file(url: str | URL) -> str | None:
    """The path of a SQLite database file; None for another database or SQLite in memory."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return u.database


def make_engine(settings: Settings, *, autocheckpoint: bool = True, **kwargs: Any) -> Engine:
    """The database engine. ``autocheckpoint=False`` (SQLite): commits never checkpoint the
    WAL; the caller runs a ``Checkpointer`` (see ``store.checkpoint``)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            settings.ensure_data_dir()
            create_private_file(path)  # before SQLite makes it with the umask's mode
        fast_parameter_binding()
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if not autocheckpoint:
            event.listen(engine, "connect", _no_autocheckpoint)
        # pysqlite's own transaction handling is bypassed so BEGIN IMMEDIATE can be issued
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def fast_parameter_binding() -> None:
    """Bind ``None`` and ``bool`` parameters without pysqlite's adapter search.

    pysqlite binds ``int``, ``float``, ``str`` and ``bytes`` directly, but looks every other
    value up as an adaptable object first: a registry lookup and two failed attribute lookups,
    about 0.5 µs a parameter (measured), where the insert of a whole 34-column event row costs
    a few µs. Event rows carry a few ``None``s and two ``bool``s, and every rollup row a
    ``bool``. Registered adapters are found at the first lookup. They store exactly what the
    search would have (NULL, and 1 or 0), process-wide, for every SQLite connection: both are
    C functions, ``int`` for ``bool`` and an empty dict's ``get`` for ``None`` (it answers
    ``None`` for every key)."""
    sqlite3.register_adapter(type(None), _NOTHING.get)
    sqlite3.register_adapter(bool, int)


_NOTHING: dict[None, None] = {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cur.close()


def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
    for pragma in NO_AUTOCHECKPOINT:
        dbapi_conn.execute(pragma)


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front (no lock upgrade deadlocks); readers use plain BEGIN.
    mode = conn.info.pop("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def begin_immediate(conn: Any) -> None:
    """Mark a SQLite connection so its next transaction starts with ``BEGIN IMMEDIATE``."""
    conn.info["sqlite_begin"] = "IMMEDIATE"
