"""The write transaction every access-control change runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from llmledger.store.engine import begin_immediate


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: ``BEGIN IMMEDIATE`` on SQLite, so a transaction that reads before it
    writes never has to upgrade its lock (which can fail at once with "database is locked")."""
    with engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            yield conn
