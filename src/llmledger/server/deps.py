"""Request dependencies: the ledger, the caller, and role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from llmledger.auth.tokens import Principal, resolve_bearer
from llmledger.ledger import Ledger


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise HTTPException(401, "Authorization header must be 'Bearer <token>'")
    return value.strip()


def get_principal(request: Request, ledger: LedgerDep) -> Principal:
    secret = _bearer(request)
    if secret is None:
        raise HTTPException(
            401,
            "authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if len(secret) > 200:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    with ledger.engine.connect() as conn:
        principal = resolve_bearer(conn, secret)
    if principal is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_ingest(principal: PrincipalDep) -> Principal:
    """Ingest keys and admin tokens may write events."""
    if principal.role not in ("ingest", "admin"):
        raise HTTPException(403, "writing events needs an ingest key or an admin token")
    return principal


def require_reader(principal: PrincipalDep) -> Principal:
    """Any user token may read (scoped to its organisation); ingest keys are write-only."""
    if principal.role == "ingest":
        raise HTTPException(403, "ingest keys are write-only")
    return principal


IngestDep = Annotated[Principal, Depends(require_ingest)]
ReaderDep = Annotated[Principal, Depends(require_reader)]


def scope_org(principal: Principal, requested: str | None = None) -> str | None:
    """The organisation a query must be limited to, or ``None`` for all (admins only).

    A scoped caller that asks for another organisation gets 404, exactly as for one that does
    not exist, so nobody can probe which organisations exist.
    """
    if principal.is_admin:
        return requested
    if requested is not None and requested != principal.org_id:
        raise HTTPException(404, "no such organisation")
    return principal.org_id
