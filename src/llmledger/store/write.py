"""The one write transaction for events.

Every way an event enters llmledger (HTTP ingest, the demo, direct-mode SDK, OTLP, importers) ends
in ``write_rows``. Batches arrive prepared (priced rows and their rollup deltas, computed on the
submitting thread by ``llmledger.ingest.prepare``); in one transaction the writer drops events
already stored (by ``eventId``), inserts the rest and adds them to every rollup they touch. So
rollups always agree with raw events, and re-sending is always safe. Who runs the transaction, and
when, is ``llmledger.ingest.writer`` (a thread with group commit) and ``writer_process``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError

from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.checkpoint import checkpoints_deferred
from llmledger.store.dialect import insert_ignore, upsert_add
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import (
    EVENT_COLUMNS,
    ORG,
    RollupDeltas,
    merge_deltas,
    model_deltas,
    rollup_deltas,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
B = TypeVar("B")

_IN_CHUNK = 900


@dataclass(frozen=True, slots=True)
class Prepared:
    """Priced event rows (``EVENT_COLUMNS`` order) and their rollup deltas, computed as if none
    were stored yet and for the first open day ``open_from`` (see ``store.open_days``)."""

    rows: list[tuple[Any, ...]]
    deltas: RollupDeltas
    open_from: int

    @classmethod
    def of_rows(cls, rows: list[tuple[Any, ...]], open_from: int) -> Prepared:
        return cls(rows, rollup_deltas(rows, open_from=open_from), open_from)


@dataclass(frozen=True, slots=True)
class WriteResult:
    accepted: int
    duplicates: int


class WriteFailed(RuntimeError):
    """A batch was not stored; the transaction rolled back (HTTP 503: resend it)."""


REFUSED = "the database refused the write; nothing of this batch was stored"


def _existing_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    col = t.events.c.event_id
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i : i + _IN_CHUNK]
        found.update(conn.execute(select(col).where(col.in_(chunk))).scalars())
    return found


def _ensure_orgs(conn: Connection, org_ids: set[str], now_us: int) -> None:
    rows = [(o, o, now_us) for o in sorted(org_ids) if o]
    insert_ignore(conn, "organizations", ("org_id", "name", "created_us"), ("org_id",), rows)


_ROLLUP_KEY = ("bucket", *t.ROLLUP_DIMENSIONS)
_ROLLUP_COLUMNS = (*_ROLLUP_KEY, *t.ROLLUP_MEASURES)
_MODEL_KEY = ("bucket", *t.MODEL_DIMENSIONS)
_MODEL_COLUMNS = (*_MODEL_KEY, *t.ROLLUP_MEASURES)
_SMALL = ("requests", "events", "input_tokens", "output_tokens", "cost_nanos")
_SESSION_COLUMNS = ("org_id", "session_id", "user_id", "first_us", "last_us", *_SMALL)
_AGENT_COLUMNS = ("org_id", "session_id", "agent", "requests", "cost_nanos")
_USER_DAY_COLUMNS = ("bucket", "org_id", "user_id", *_SMALL)


#: the rollup upserts of a write, in the order ``delta_rows`` lists their rows
_Names = tuple[str, ...]
_UPSERTS: tuple[tuple[str, _Names, _Names, _Names, dict[str, _Names]], ...] = (
    ("rollup_hour", _ROLLUP_COLUMNS, _ROLLUP_KEY, t.ROLLUP_MEASURES, {}),
    ("rollup_hour_model", _MODEL_COLUMNS, _MODEL_KEY, t.ROLLUP_MEASURES, {}),
    ("rollup_day", _ROLLUP_COLUMNS, _ROLLUP_KEY, t.ROLLUP_MEASURES, {}),
    ("rollup_day_model", _MODEL_COLUMNS, _MODEL_KEY, t.ROLLUP_MEASURES, {}),
    (
        "sessions",
        _SESSION_COLUMNS,
        ("org_id", "session_id"),
        _SMALL,
        {"least": ("first_us",), "greatest": ("last_us",), "keep_nonempty": ("user_id",)},
    ),
    ("session_agents", _AGENT_COLUMNS, ("org_id", "session_id", "agent"), _AGENT_COLUMNS[3:], {}),
    ("user_day", _USER_DAY_COLUMNS, ("bucket", "org_id", "user_id"), _SMALL, {}),
)

#: rows to upsert into each rollup table, in ``_UPSERTS`` order (plain data: it can travel to
#: the writer process)
DeltaRows = Sequence[Sequence[Sequence[Any]]]


def delta_rows(d: RollupDeltas, *, ordered: bool) -> DeltaRows:
    """The upsert rows of ``d``. ``ordered`` sorts them by key, so that concurrent PostgreSQL
    writers lock rollup rows in the same order and cannot deadlock (SQLite has one writer, so
    the sort is skipped there)."""
    order = _sorted if ordered else _as_is
    return [
        [(*k, *v) for k, v in order(deltas)]
        for deltas in (
            d.hour,
            model_deltas(d.hour),
            d.day,
            model_deltas(d.day),
            d.sessions,
            d.session_agents,
            d.user_day,
        )
    ]


def apply_delta_rows(conn: Connection, rows: DeltaRows) -> None:
    for (table, columns, key, add, kw), some in zip(_UPSERTS, rows, strict=True):
        upsert_add(conn, table, columns, key, add, some, **kw)


def apply_deltas(conn: Connection, d: RollupDeltas) -> None:
    """Add rollup deltas (negative ones take events out)."""
    apply_delta_rows(conn, delta_rows(d, ordered=conn.dialect.name == "postgresql"))


def _sorted(d: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return sorted(d.items())


def _as_is(d: dict[Any, Any]) -> Any:
    return d.items()


def group_delta_rows(batches: Sequence[Prepared], *, ordered: bool) -> DeltaRows | None:
    """One set of upsert rows for a group of batches: each rollup row is added to once.
    ``None`` when the batches were prepared for different open days (a fold came between
    them): the writer computes the deltas then."""
    if any(b.open_from != batches[0].open_from for b in batches):
        return None
    return delta_rows(merge_deltas([b.deltas for b in batches]), ordered=ordered)


def write_batch(conn: Connection, batches: Sequence[Prepared], *, now_us: int) -> list[WriteResult]:
    """Write prepared batches inside the caller's transaction; one ``WriteResult`` per batch."""
    rows = batches[0].rows if len(batches) == 1 else [r for b in batches for r in b.rows]
    ordered = conn.dialect.name == "postgresql"
    return write_rows(
        conn,
        rows,
        [len(b.rows) for b in batches],
        group_delta_rows(batches, ordered=ordered),
        open_from=batches[0].open_from,
        now_us=now_us,
    )


def write_rows(
    conn: Connection,
    rows: Sequence[Sequence[Any]],
    sizes: Sequence[int],
    deltas: DeltaRows | None,
    *,
    open_from: int,
    now_us: int,
) -> list[WriteResult]:
    """Write event rows (the batches of ``sizes``, one after another) and add ``deltas``, their
    rollup upserts computed for the first open day ``open_from`` (``None``: compute them here),
    inside the caller's transaction. Deltas for another open day than the stored one (a fold
    came after they were prepared) are computed again.

    Duplicates are rare, so the insert is optimistic: ``ON CONFLICT DO NOTHING`` and a count of
    what went in, and the deltas prepared with the rows are added as they are. Only when the
    count falls short (an ``eventId`` was already stored, or sent twice) is the work rolled back
    to a savepoint and done again: look up which ids are stored, keep the first copy of each new
    one, and recompute the deltas from the rows that really go in.
    """
    current = open_days.open_from(conn, lock=True)
    if current != open_from:
        deltas = None
    savepoint = conn.begin_nested()
    inserted = _insert_events(conn, rows)
    if inserted == len(rows):
        results = [WriteResult(n, 0) for n in sizes]
    else:
        savepoint.rollback()
        savepoint = conn.begin_nested()
        stored = _existing_ids(conn, [r[0] for r in rows])
        results, rows = _fresh(rows, sizes, stored)
        inserted = _insert_events(conn, rows)
        if inserted != len(rows):  # another writer got there between our read and insert
            raise IntegrityError("concurrent insert of the same eventId", None, Exception())
        deltas = None
    if rows:
        _ensure_orgs(conn, {r[ORG] for r in rows}, now_us)
        if deltas is None:
            deltas = delta_rows(
                rollup_deltas(rows, open_from=current), ordered=conn.dialect.name == "postgresql"
            )
        apply_delta_rows(conn, deltas)
    savepoint.commit()
    return results


def _fresh(
    rows: Sequence[Sequence[Any]], sizes: Sequence[int], stored: set[str]
) -> tuple[list[WriteResult], list[Sequence[Any]]]:
    """The rows whose ids are neither stored nor seen earlier in ``rows``, with the count of
    accepted and duplicate events per batch."""
    results: list[WriteResult] = []
    fresh: list[Sequence[Any]] = []
    seen = set(stored)
    it = iter(rows)
    for n in sizes:
        accepted = 0
        for _ in range(n):
            r = next(it)
            if r[0] not in seen:
                seen.add(r[0])
                fresh.append(r)
                accepted += 1
        results.append(WriteResult(accepted, n - accepted))
    return results, fresh


def commit_with_retry(
    engine: Engine, work: Callable[[Connection], T], *, defer_checkpoints: bool = False
) -> T:
    """Run ``work`` in a write transaction (``BEGIN IMMEDIATE`` on SQLite), retried on a
    conflict: another node committed the same ``eventId`` first (PostgreSQL), or a transient
    lock or serialisation failure. The retry re-reads what is stored. ``defer_checkpoints``:
    the commit leaves the WAL checkpoint to a ``Checkpointer`` (SQLite)."""
    for attempt in range(5):
        try:
            with (
                engine.connect() as conn,
                checkpoints_deferred(conn) if defer_checkpoints else nullcontext(),
            ):
                begin_immediate(conn)
                with conn.begin():
                    return work(conn)
        except (IntegrityError, OperationalError):
            if attempt == 4:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def commit_isolated(
    commit: Callable[[list[B]], list[WriteResult]], batches: list[B]
) -> list[WriteResult | Exception]:
    """Commit ``batches`` together; when that fails, each alone, so that one bad batch does not
    fail its neighbours. A batch that fails alone gets ``WriteFailed``."""
    try:
        return list(commit(batches))
    except Exception:
        if len(batches) == 1:
            log.exception("writing a batch of events failed")
            return [WriteFailed(REFUSED)]
        return [out for b in batches for out in commit_isolated(commit, [b])]


def _insert_events(conn: Connection, rows: Sequence[Sequence[Any]]) -> int:
    return insert_ignore(conn, "events", EVENT_COLUMNS, ("event_id",), rows)
