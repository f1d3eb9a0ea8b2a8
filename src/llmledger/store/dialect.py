"""The few places SQLite and PostgreSQL differ, and the writer's precompiled statements.

The event writer is the hot path (tens of thousands of events per second), so its statements are
rendered once per dialect as plain SQL; building SQLAlchemy parameter dicts per row would cost
more than the insert itself. Both dialects accept the same ``INSERT .. ON CONFLICT .. DO UPDATE``
with ``excluded``. SQLite (in process, no round trips) is fed tuples through ``executemany``.
PostgreSQL gets one statement per table and batch: the rows travel as one array per column and
``unnest`` turns them back into rows, so a batch costs one round trip instead of one per row.
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
def insert_sql(dialect: str, table: str, columns: tuple[str, ...], *, bulk: bool = False) -> str:
    """``INSERT`` of one row per parameter set, or with ``bulk`` (PostgreSQL) of a whole batch
    given as one array per column."""
    cols = ", ".join(columns)
    if bulk:
        return f"INSERT INTO {table} ({cols}) {_unnest(table, columns)}"
    ph = _FLAVORS[dialect].placeholder
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
    *,
    bulk: bool = False,
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
        f"{insert_sql(dialect, table, columns, bulk=bulk)} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"
    )


@cache
def insert_ignore_sql(
    dialect: str, table: str, columns: tuple[str, ...], key: tuple[str, ...], *, bulk: bool = False
) -> str:
    head = insert_sql(dialect, table, columns, bulk=bulk)
    return f"{head} ON CONFLICT ({', '.join(key)}) DO NOTHING"


@cache
def _unnest(table: str, columns: tuple[str, ...]) -> str:
    """``SELECT * FROM unnest(%s::type[], ..)`` for ``columns`` of ``table`` (PostgreSQL)."""
    from sqlalchemy.dialects import postgresql

    from llmledger.store.tables import metadata

    pg = postgresql.dialect()
    cols = metadata.tables[table].c
    arrays = ", ".join(f"%b::{cols[c].type.compile(dialect=pg)}[]" for c in columns)
    return f"SELECT * FROM unnest({arrays})"


def _as_columns(rows: Sequence[Sequence[Any]]) -> tuple[list[Any], ...]:
    return tuple(list(c) for c in zip(*rows, strict=True))


def upsert_add(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    add: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    **kw: tuple[str, ...],
) -> None:
    """Add ``rows`` into ``table`` (see ``upsert_add_sql``). On PostgreSQL the keys of ``rows``
    must be distinct: one statement may not update a row twice."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect != "postgresql":
        conn.exec_driver_sql(upsert_add_sql(dialect, table, columns, key, add, **kw), list(rows))
        return
    sql = upsert_add_sql(dialect, table, columns, key, add, **kw, bulk=True)
    _execute_binary(conn, sql, _as_columns(rows))


def insert_ignore(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
) -> int:
    """Insert the ``rows`` whose key is not stored yet; how many went in."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect != "postgresql":
        sql = insert_ignore_sql(dialect, table, columns, key)
        return int(conn.exec_driver_sql(sql, list(rows)).rowcount)
    sql = insert_ignore_sql(dialect, table, columns, key, bulk=True)
    return _execute_binary(conn, sql, _as_columns(rows))


def _execute_binary(conn: Connection, sql: str, params: tuple[list[Any], ...]) -> int:
    """Run ``sql`` on the connection's own psycopg cursor with binary parameters: psycopg
    writes arrays in the text format with a regex per element, ten times slower."""
    with conn.connection.driver_connection.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(sql, params)
        return int(cur.rowcount)
