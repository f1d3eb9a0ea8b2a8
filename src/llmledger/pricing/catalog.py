"""Reading and correcting the price catalog: the rows in force, a model's history, manual
entries, and the fallback price.

A change never edits history: it closes rows (sets ``effective_to``) and inserts new ones. A
manual row that starts at F takes over its model from F on: earlier manual rows still open at F
are closed at F, and manual rows that would only have started at or after F are withdrawn
(closed at their own start, so they are never in force). Catalog rows (bundled, LiteLLM) are
never closed by a manual change; the manual row simply wins over them while it is in force.
The token prices a manual row leaves out are inherited from the row in force at its start
(``pricing.inherit``).

Every change is written with its audit row in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, or_, select, update

from llmledger.pricing.convert import iso, row_json
from llmledger.pricing.inherit import complete
from llmledger.pricing.rows import PriceRow
from llmledger.pricing.seed import bump_prices_version, row_from_db, row_to_db
from llmledger.pricing.tables import price_rows
from llmledger.pricing.timeline import PRECEDENCE
from llmledger.store.engine import begin_immediate
from llmledger.store.rows import to_us


class AuditSink(Protocol):
    """Writes one audit row in the caller's transaction (``auth.audit.Audit`` is one)."""

    def record(
        self,
        conn: Connection,
        *,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        org_id: str | None = None,
    ) -> int: ...


class CatalogError(ValueError):
    """A change the catalog refuses; ``status`` is the HTTP answer it maps to."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Change:
    row: PriceRow
    closed: list[PriceRow]
    inherited: tuple[str, ...] = ()  # token classes whose price came from ``inherited_from``
    inherited_from: PriceRow | None = None


#: any fixed number: the PostgreSQL advisory lock that serialises changes to prices
_PRICES_LOCK = 0x6C6C6D70


@contextmanager
def price_change(engine: Engine) -> Iterator[Connection]:
    """The write transaction of a price change (``BEGIN IMMEDIATE`` on SQLite, the prices
    lock on PostgreSQL)."""
    with engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            lock_prices(conn)
            yield conn


def lock_prices(conn: Connection) -> None:
    """Serialise price changes (two syncs, or a sync and an edit, never interleave; SQLite's
    writers already take the database lock with ``BEGIN IMMEDIATE``), and mark prices as
    changed so that every process reloads them."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PRICES_LOCK})")
    bump_prices_version(conn)


def get_row(conn: Connection, row_id: int) -> PriceRow | None:
    found = conn.execute(select(price_rows).where(price_rows.c.id == row_id)).first()
    return None if found is None else row_from_db(found)


def _key_filter(provider: str, model: str) -> Any:
    c = price_rows.c
    return (func.lower(c.provider) == provider.lower()) & (func.lower(c.model) == model.lower())


def history(conn: Connection, row: PriceRow) -> list[PriceRow]:
    """Every row of the row's model, every source, oldest first."""
    q = select(price_rows).where(_key_filter(row.provider, row.model))
    if row.source == "fallback":
        q = select(price_rows).where(price_rows.c.source == "fallback")
    rows = [row_from_db(r) for r in conn.execute(q)]
    return sorted(rows, key=lambda r: (r.effective_from, PRECEDENCE.get(r.source, 9), r.id or 0))


def winner(rows: list[PriceRow], at: dt.datetime) -> PriceRow | None:
    """The row among ``rows`` (one model's) that prices it at ``at``."""
    live = [
        r
        for r in rows
        if r.effective_from <= at and (r.effective_to is None or r.effective_to > at)
    ]
    return min(
        live,
        key=lambda r: (PRECEDENCE.get(r.source, 9), -to_us(r.effective_from), -(r.id or 0)),
        default=None,
    )


#: ids per ``IN (...)`` when whole rows are read for the winners
_CHUNK = 500


def in_force_page(
    conn: Connection,
    at: dt.datetime,
    *,
    search: str | None = None,
    provider: str | None = None,
    source: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, list[PriceRow]]:
    """How many models have a row in force at ``at`` (manual > litellm > bundled), and the rows
    of ``limit`` of them from ``offset``, by provider and model name.

    The winners are picked over a few narrow columns; only the rows asked for are read whole
    and decoded (their JSON columns and prices), so a page of 50 out of thousands of models
    costs what 50 rows cost."""
    c = price_rows.c
    at_us = to_us(at)
    q = select(c.id, c.provider, c.model, c.source, c.effective_from_us).where(
        c.source != "fallback",
        c.effective_from_us <= at_us,
        or_(c.effective_to_us.is_(None), c.effective_to_us > at_us),
    )
    if provider:
        q = q.where(func.lower(c.provider) == provider.strip().lower())
    if search:
        text = search.strip().lower()
        model_has = func.lower(c.model).contains(text, autoescape=True)
        q = q.where(or_(model_has, func.lower(c.provider).contains(text, autoescape=True)))
    best: dict[tuple[str, str], Any] = {}
    for r in conn.execute(q):
        key = (r.provider.lower(), r.model.lower())
        rank = (PRECEDENCE.get(r.source, 9), -r.effective_from_us, -r.id)
        held = best.get(key)
        if held is None or rank < held[0]:
            best[key] = (rank, r)
    winners = sorted(
        (key, r.id) for key, (_, r) in best.items() if source is None or r.source == source
    )
    ids = [i for _, i in winners[offset : None if limit is None else offset + limit]]
    rows: dict[int, PriceRow] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for r in conn.execute(select(price_rows).where(c.id.in_(chunk))):
            rows[r.id] = row_from_db(r)
    return len(winners), [rows[i] for i in ids]


def in_force(
    conn: Connection,
    at: dt.datetime,
    *,
    search: str | None = None,
    provider: str | None = None,
    source: str | None = None,
) -> list[PriceRow]:
    """The row that prices each model at ``at`` (manual > litellm > bundled), by provider and
    model name."""
    return in_force_page(conn, at, search=search, provider=provider, source=source)[1]


def providers(conn: Connection) -> list[str]:
    """Every provider the catalog has rows for (the fallback aside), for a filter's choices."""
    c = price_rows.c
    q = select(func.lower(c.provider)).where(c.source != "fallback").distinct()
    return sorted(str(p) for (p,) in conn.execute(q))


def _insert(conn: Connection, row: PriceRow, now: dt.datetime) -> PriceRow:
    res = conn.execute(price_rows.insert().values(**row_to_db(row, changed_us=to_us(now))))
    made = get_row(conn, int(res.inserted_primary_key[0]))  # type: ignore[index]
    assert made is not None
    return made


def _supersede(conn: Connection, where: Any, start: dt.datetime) -> list[PriceRow]:
    """Close the rows matching ``where`` that would be in force at or after ``start``."""
    c = price_rows.c
    start_us = to_us(start)
    q = select(price_rows).where(
        where, or_(c.effective_to_us.is_(None), c.effective_to_us > start_us)
    )
    closed = []
    for r in conn.execute(q).all():
        # a row that began before ``start`` ends there; one that was still to come is withdrawn
        end_us = start_us if r.effective_from_us < start_us else r.effective_from_us
        conn.execute(update(price_rows).where(c.id == r.id).values(effective_to_us=end_us))
        closed.append(get_row(conn, r.id))
    return [r for r in closed if r is not None]


def add_manual(conn: Connection, row: PriceRow, *, now: dt.datetime, audit: AuditSink) -> Change:
    """Enter a manual price (``POST /models``): it takes over the model from its start."""
    if row.source != "manual":
        raise CatalogError("only manual rows are entered by hand", 422)
    lock_prices(conn)
    done = complete(conn, row, provider=row.provider, model=row.model)
    c = price_rows.c
    closed = _supersede(
        conn, (c.source == "manual") & _key_filter(row.provider, row.model), row.effective_from
    )
    made = _insert(conn, done.row, now)
    audit.record(
        conn,
        action="price.create",
        target=f"price:{made.id}",
        before=[row_json(r) for r in closed] or None,
        after=row_json(made),
    )
    return Change(made, closed, done.inherited, done.base)


def replace(
    conn: Connection, row_id: int, new: PriceRow, *, now: dt.datetime, audit: AuditSink
) -> Change:
    """A new manual row for the model of ``row_id`` (``PUT /models/{id}``)."""
    lock_prices(conn)
    old = get_row(conn, row_id)
    if old is None:
        raise CatalogError("no such price row", 404)
    if old.source == "fallback":
        raise CatalogError("the fallback price changes through PUT /fallback", 422)
    done = complete(conn, new, provider=old.provider, model=old.model)
    c = price_rows.c
    closed = _supersede(
        conn, (c.source == "manual") & _key_filter(old.provider, old.model), new.effective_from
    )
    made = _insert(conn, _same_model(done.row, old), now)
    audit.record(
        conn,
        action="price.update",
        target=f"price:{made.id}",
        before=[row_json(r) for r in closed] or row_json(old),
        after=row_json(made),
    )
    return Change(made, closed, done.inherited, done.base)


def _same_model(new: PriceRow, old: PriceRow) -> PriceRow:
    return PriceRow(
        provider=old.provider,
        model=old.model,
        prices=new.prices,
        effective_from=new.effective_from,
        source="manual",
        aliases=new.aliases or (old.aliases if old.source == "manual" else ()),
        per_request=new.per_request,
        tiers=new.tiers,
        windows=new.windows,
        notes=new.notes,
        changed_by=new.changed_by,
        changed_at=new.changed_at,
    )


def delete_manual(
    conn: Connection, row_id: int, *, at: dt.datetime, now: dt.datetime, audit: AuditSink
) -> PriceRow:
    """Take a manual row out of force from ``at`` (default now); what it overrode is back.

    ``at`` equal to (or before) the row's start withdraws it completely; the row stays in the
    history either way, and events it priced keep its id until they are re-priced.
    """
    lock_prices(conn)
    row = get_row(conn, row_id)
    if row is None:
        raise CatalogError("no such price row", 404)
    if row.source != "manual":
        raise CatalogError(
            f"only manual rows can be deleted; this one is {row.source!r} "
            "(enter a manual price to override it)"
        )
    end = max(at, row.effective_from)
    if row.effective_to is not None and row.effective_to <= end:
        raise CatalogError(f"the row is already out of force since {iso(row.effective_to)}")
    c = price_rows.c
    conn.execute(update(price_rows).where(c.id == row_id).values(effective_to_us=to_us(end)))
    closed = get_row(conn, row_id)
    assert closed is not None
    audit.record(
        conn,
        action="price.delete",
        target=f"price:{row_id}",
        before=row_json(row),
        after=row_json(closed),
    )
    return closed


def fallback_rows(conn: Connection) -> list[PriceRow]:
    q = select(price_rows).where(price_rows.c.source == "fallback")
    return sorted((row_from_db(r) for r in conn.execute(q)), key=lambda r: r.effective_from)


def fallback_in_force(rows: list[PriceRow], at: dt.datetime) -> PriceRow | None:
    live = [
        r
        for r in rows
        if r.effective_from <= at and (r.effective_to is None or r.effective_to > at)
    ]
    return live[-1] if live else (rows[0] if rows else None)


def set_fallback(conn: Connection, row: PriceRow, *, now: dt.datetime, audit: AuditSink) -> Change:
    """A new fallback price from ``row.effective_from``; the one before is closed there."""
    if row.source != "fallback":
        raise CatalogError("a fallback row is needed", 422)
    lock_prices(conn)
    before = fallback_in_force(fallback_rows(conn), row.effective_from)
    closed = _supersede(conn, price_rows.c.source == "fallback", row.effective_from)
    made = _insert(conn, row, now)
    audit.record(
        conn,
        action="price.fallback",
        target=f"price:{made.id}",
        before=row_json(before) if before else None,
        after=row_json(made),
    )
    return Change(made, closed)
