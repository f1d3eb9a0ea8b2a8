"""The few places SQLite and PostgreSQL differ, and the writer's precompiled statements.

The event writer is the hot path (tens of thousands of events per second), so its statements are
rendered once per dialect as plain SQL and fed tuples through the driver's ``executemany``;
building SQLAlchemy parameter dicts per row would cost more than the insert itself. Both dialects
accept the same ``INSERT .. ON CONFLICT .. DO UPDATE`` with ``excluded``; only the placeholder
and the names of ``least``/``greatest`` differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True)
class Flavor:
    placeholder: str
    least: str
    greatest: str


_FLAVORS = {
    "sqlite": Flavor("?", "min", "max"),
    "postgresql": Flavor("%s", "least", "greatest"),
}


def flavor(conn: Connection) -> Flavor:
    try:
        return _FLAVORS[conn.dialect.name]
    except KeyError:
        raise RuntimeError(f"unsupported database dialect {conn.dialect.name!r}") from None


@cache
def insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    ph = _FLAVORS[dialect].placeholder
    cols = ", ".join(columns)
    return f"INSERT INTO {table} ({cols}) VALUES ({', '.join([ph] * len(columns))})"


@cache
def upsert_add_sql(
    dialect: str,
    table: str,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    add: tuple[str, ...],
    least: tuple[str, ...] = (),
    greatest: tuple[str, ...] = (),
    keep_nonempty: tuple[str, ...] = (),
) -> str:
    """``INSERT`` the row, or add its ``add`` columns to the stored row with the same key."""
    f = _FLAVORS[dialect]
    sets = [f"{c} = {table}.{c} + excluded.{c}" for c in add]
    sets += [f"{c} = {f.least}({table}.{c}, excluded.{c})" for c in least]
    sets += [f"{c} = {f.greatest}({table}.{c}, excluded.{c})" for c in greatest]
    sets += [
        f"{c} = CASE WHEN {table}.{c} = '' THEN excluded.{c} ELSE {table}.{c} END"
        for c in keep_nonempty
    ]
    return (
        f"{insert_sql(dialect, table, columns)} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"
    )


@cache
def insert_ignore_sql(
    dialect: str, table: str, columns: tuple[str, ...], key: tuple[str, ...]
) -> str:
    return f"{insert_sql(dialect, table, columns)} ON CONFLICT ({', '.join(key)}) DO NOTHING"


def executemany(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        conn.exec_driver_sql(sql, list(rows))
