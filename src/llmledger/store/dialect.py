"""The few places SQLite and PostgreSQL differ: additive upserts and insert-if-new."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, case, func
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert_add(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    add: Sequence[str],
    least: Sequence[str] = (),
    greatest: Sequence[str] = (),
    keep_nonempty: Sequence[str] = (),
) -> None:
    """Insert rows, or add their measures to the existing row with the same key.

    ``least``/``greatest`` columns keep the minimum/maximum; ``keep_nonempty`` columns keep the
    existing value unless it is ``''``.
    """
    if not rows:
        return
    stmt = _insert(conn, table)
    ex = stmt.excluded
    t = table.c
    values: dict[str, Any] = {c: t[c] + ex[c] for c in add}
    fn_min = "least" if conn.dialect.name == "postgresql" else "min"
    fn_max = "greatest" if conn.dialect.name == "postgresql" else "max"
    for c in least:
        values[c] = getattr(func, fn_min)(t[c], ex[c])
    for c in greatest:
        values[c] = getattr(func, fn_max)(t[c], ex[c])
    for c in keep_nonempty:
        values[c] = case((t[c] == "", ex[c]), else_=t[c])
    conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=values), list(rows))
