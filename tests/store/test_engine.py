"""The SQLite engine's parameter binding: fast, and storing what pysqlite always stored."""

from __future__ import annotations

import sqlite3

from llmledger.settings import Settings
from llmledger.store.engine import make_engine


def test_none_and_bool_bind_through_registered_adapters(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path))
    protocol = sqlite3.PrepareProtocol
    # the speed-up: both types are found at the registry's first lookup
    assert sqlite3.adapters[(type(None), protocol)](None) is None
    assert sqlite3.adapters[(bool, protocol)](True) == 1
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bound (a, b, c, d)")
        conn.exec_driver_sql(
            "INSERT INTO bound VALUES (?, ?, ?, ?)", [(None, True, False, "x"), (1, None, 2.5, b"")]
        )
        rows = conn.exec_driver_sql(
            "SELECT a, typeof(a), b, typeof(b), c, typeof(c), d, typeof(d)"
            " FROM bound ORDER BY rowid"
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (None, "null", 1, "integer", 0, "integer", "x", "text"),
        (1, "integer", None, "null", 2.5, "real", b"", "blob"),
    ]
