"""The price catalog: ``/api/v1/admin/pricing/models``, ``/fallback`` and ``/unpriced``.

Reads are open to every reader (prices are not tenant data; ``/unpriced`` is scoped to the
caller's organisation); every change is admin-only and audit-logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request

from llmledger.ledger import Ledger
from llmledger.pricing import catalog
from llmledger.pricing.catalog import CatalogError, price_change
from llmledger.pricing.convert import (
    API_FIELDS,
    PriceError,
    fallback_row,
    iso,
    manual_row,
    parse_instant,
    row_json,
)
from llmledger.pricing.infer import infer_provider
from llmledger.pricing.rows import PriceRow
from llmledger.pricing.traffic import reprice_suggestion, unpriced
from llmledger.server.deps import AdminDep, AuditDep, LedgerDep, ReaderDep, RolesFirst, scope_org
from llmledger.server.pricing.schemas import (
    ChangeOut,
    DeleteOut,
    FallbackIn,
    FallbackOut,
    HistoryOut,
    ModelsOut,
    PriceChange,
    PriceIn,
    PriceRowOut,
    UnpricedOut,
)
from llmledger.store.rows import to_us

PREFIX = "/api/v1/admin/pricing"
router = APIRouter(prefix=PREFIX, tags=["pricing"], route_class=RolesFirst)
#: ids are 32-bit on PostgreSQL; text never carries NUL (PostgreSQL refuses it)
RowId = Annotated[int, Path(alias="id", ge=1, le=2**31 - 1)]
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str | None, Query(max_length=256, pattern=NO_NUL)]


def _now(request: Request) -> dt.datetime:
    moment: dt.datetime = request.app.state.clock()
    return moment


def _start(value: str | None, now: dt.datetime) -> dt.datetime:
    return parse_instant("effectiveFrom", value) if value else now


def _refused(exc: ValueError) -> HTTPException:
    status = exc.status if isinstance(exc, CatalogError) else 422
    return HTTPException(status, str(exc))


@router.get("/models", response_model=ModelsOut)
def list_models(
    request: Request,
    ledger: LedgerDep,
    _: ReaderDep,
    search: Text = None,
    provider: Text = None,
    source: Annotated[str | None, Query(pattern="^(bundled|litellm|manual)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """The price in force now for every model (manual > litellm > bundled), by provider and
    model; ``search`` matches part of either."""
    now = _now(request)
    with ledger.engine.connect() as conn:
        total, page = catalog.in_force_page(
            conn, now, search=search, provider=provider, source=source, offset=offset, limit=limit
        )
    more = offset + limit < total
    return {
        "at": iso(now),
        "models": [row_json(r) for r in page],
        "total": total,
        "nextOffset": offset + limit if more else None,
    }


def _found(ledger: Ledger, row_id: int) -> PriceRow:
    with ledger.engine.connect() as conn:
        row = catalog.get_row(conn, row_id)
    if row is None:
        raise HTTPException(404, "no such price row")
    return row


@router.get("/models/{id}", response_model=PriceRowOut)
def get_model_row(row_id: RowId, ledger: LedgerDep, _: ReaderDep) -> dict[str, Any]:
    """One price row, in force or not."""
    return row_json(_found(ledger, row_id))


@router.get("/models/{id}/history", response_model=HistoryOut)
def get_history(row_id: RowId, request: Request, ledger: LedgerDep, _: ReaderDep) -> dict[str, Any]:
    """Every row of the row's model, all sources, oldest first; ``inForce`` marks the one
    that prices it now."""
    row = _found(ledger, row_id)
    now = _now(request)
    with ledger.engine.connect() as conn:
        rows = catalog.history(conn, row)
    winner = catalog.winner(rows, now)
    return {
        "provider": row.provider,
        "model": row.model,
        "inForceNow": winner.id if winner else None,
        "rows": [{**row_json(r), "inForce": r is winner} for r in rows],
    }


def _change_answer(ledger: Ledger, change: catalog.Change) -> dict[str, Any]:
    ledger.reload_prices()
    book = ledger.pricer().book
    with ledger.engine.connect() as conn:
        suggestion = reprice_suggestion(conn, book, change.row)
    base = change.inherited_from
    return {
        **row_json(change.row),
        "closed": [r.id for r in change.closed],
        "inherited": None
        if base is None
        else {
            "fromId": base.id,
            "source": base.source,
            "prices": [API_FIELDS[c] for c in change.inherited],
        },
        "repriceSuggested": suggestion,
    }


@router.post("/models", response_model=ChangeOut, status_code=201)
def post_model(
    body: PriceIn, request: Request, ledger: LedgerDep, _: AdminDep, audit: AuditDep
) -> dict[str, Any]:
    """Enter a manual price: it wins over the catalog for this model from ``effectiveFrom``
    (default now). The answer suggests a re-price when stored events would change."""
    provider = (body.provider or infer_provider(body.model) or "").strip().lower()
    if not provider:
        raise HTTPException(422, "provider: cannot be inferred from the model name; give one")
    now = _now(request)
    try:
        row = manual_row(
            body.fields(),
            provider=provider,
            model=body.model.strip(),
            effective_from=_start(body.effectiveFrom, now),
            changed_by=audit.label,
            changed_at=now,
        )
        with price_change(ledger.engine) as conn:
            change = catalog.add_manual(conn, row, now=now, audit=audit)
    except (PriceError, CatalogError) as exc:
        raise _refused(exc) from None
    return _change_answer(ledger, change)


@router.put("/models/{id}", response_model=ChangeOut)
def put_model(
    row_id: RowId,
    body: PriceChange,
    request: Request,
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
) -> dict[str, Any]:
    """A new manual price for the model of row ``id`` (from ``effectiveFrom``, default now);
    the rows before it stay in the history."""
    old = _found(ledger, row_id)
    for field, sent, have in (
        ("provider", body.provider, old.provider),
        ("model", body.model, old.model),
    ):
        if sent is not None and sent.strip().lower() != have.lower():
            raise HTTPException(422, f"{field}: a row's {field} cannot change; POST a new model")
    now = _now(request)
    try:
        row = manual_row(
            body.fields(),
            provider=old.provider,
            model=old.model,
            effective_from=_start(body.effectiveFrom, now),
            changed_by=audit.label,
            changed_at=now,
        )
        with price_change(ledger.engine) as conn:
            change = catalog.replace(conn, row_id, row, now=now, audit=audit)
    except (PriceError, CatalogError) as exc:
        raise _refused(exc) from None
    return _change_answer(ledger, change)


@router.delete("/models/{id}", response_model=DeleteOut)
def delete_model(
    row_id: RowId,
    request: Request,
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
    effective_to: Annotated[
        str | None, Query(alias="effectiveTo", max_length=40, pattern=NO_NUL)
    ] = None,
) -> dict[str, Any]:
    """Take a manual row out of force from ``effectiveTo`` (default now; its own start
    withdraws it entirely). The row it overrode prices the model again."""
    now = _now(request)
    try:
        at = parse_instant("effectiveTo", effective_to) if effective_to else now
        with price_change(ledger.engine) as conn:
            closed = catalog.delete_manual(conn, row_id, at=at, now=now, audit=audit)
    except (PriceError, CatalogError) as exc:
        raise _refused(exc) from None
    ledger.reload_prices()
    row = ledger.pricer().book.price_in_force(closed.provider, closed.model, now)
    return {"deleted": row_json(closed), "inForceNow": row_json(row) if row else None}


def _fallback_answer(ledger: Ledger, now: dt.datetime) -> dict[str, Any]:
    with ledger.engine.connect() as conn:
        rows = catalog.fallback_rows(conn)
    row = catalog.fallback_in_force(rows, now)
    current = row_json(row) if row else {}
    return {
        "id": current.get("id"),
        "inputPerMillion": current.get("inputPerMillion"),
        "outputPerMillion": current.get("outputPerMillion"),
        "effectiveFrom": current.get("effectiveFrom"),
        "history": [row_json(r) for r in rows],
    }


@router.get("/fallback", response_model=FallbackOut)
def get_fallback(request: Request, ledger: LedgerDep, _: ReaderDep) -> dict[str, Any]:
    """The price of models no catalog knows, per 1M input and output tokens."""
    return _fallback_answer(ledger, _now(request))


@router.put("/fallback", response_model=FallbackOut)
def put_fallback(
    body: FallbackIn, request: Request, ledger: LedgerDep, _: AdminDep, audit: AuditDep
) -> dict[str, Any]:
    """Change the fallback price from ``effectiveFrom`` (default now)."""
    now = _now(request)
    try:
        row = fallback_row(
            body.model_dump(),
            effective_from=_start(body.effectiveFrom, now),
            changed_by=audit.label,
            changed_at=now,
        )
        with price_change(ledger.engine) as conn:
            catalog.set_fallback(conn, row, now=now, audit=audit)
    except (PriceError, CatalogError) as exc:
        raise _refused(exc) from None
    ledger.reload_prices()
    return _fallback_answer(ledger, now)


@router.get("/unpriced", response_model=UnpricedOut)
def get_unpriced(
    ledger: LedgerDep,
    principal: ReaderDep,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=256, pattern=NO_NUL)] = None,
    start_date: Annotated[
        str | None, Query(alias="startDate", max_length=40, pattern=NO_NUL)
    ] = None,
    end_date: Annotated[str | None, Query(alias="endDate", max_length=40, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Models seen in traffic that were priced with the fallback, last seen first, with their
    requests and spend; ``pricedNow`` tells whether a price has been added since."""
    org = scope_org(principal, org_id)
    try:
        start = to_us(parse_instant("startDate", start_date)) if start_date else None
        end = to_us(parse_instant("endDate", end_date, end=True)) if end_date else None
    except PriceError as exc:
        raise HTTPException(422, str(exc)) from None
    with ledger.engine.connect() as conn:
        return unpriced(
            conn,
            ledger.pricer().book,
            org_id=org,
            start_us=start,
            end_us=end,
            limit=limit,
            offset=offset,
        )
