"""``PUT``, ``GET`` and ``DELETE /api/v1/admin/providers/{provider}/credentials``: an admin
stores a provider's key (write-only: no answer ever holds it; it is encrypted at rest), sees
whether one is set with its last four characters and when it was last used, or removes it.
Audited, without the key."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request

from llmledger.providers.credentials import forget, status, store
from llmledger.server.deps import AdminDep, AuditDep, LedgerDep, RolesFirst
from llmledger.server.providers.schemas import CredentialIn, CredentialOut
from llmledger.store.rows import to_us

PREFIX = "/api/v1/admin/providers"
router = APIRouter(prefix=PREFIX, tags=["providers"], route_class=RolesFirst)
Provider = Literal["openai", "anthropic", "groq"]


@router.put("/{provider}/credentials", response_model=CredentialOut)
def put_credentials(
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
    request: Request,
    provider: Provider,
    body: CredentialIn,
) -> dict[str, Any]:
    """Store (or replace) the provider's key; the answer shows only its last four characters."""
    secret = request.app.state.secret_key
    now_us = to_us(request.app.state.clock())
    try:
        with ledger.engine.begin() as conn:
            before = status(conn, provider)
            after = store(conn, provider, body.key, secret=secret, now_us=now_us, by=audit.label)
            audit.record(
                conn,
                action="provider_credentials.set",
                target=f"provider:{provider}",
                before=before,
                after=after,
            )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return after


@router.get("/{provider}/credentials", response_model=CredentialOut)
def get_credentials(ledger: LedgerDep, _: AdminDep, provider: Provider) -> dict[str, Any]:
    """Whether a key is stored, its last four characters, when it was set and last used."""
    with ledger.engine.connect() as conn:
        return status(conn, provider)


@router.delete("/{provider}/credentials", response_model=CredentialOut)
def delete_credentials(
    ledger: LedgerDep, _: AdminDep, audit: AuditDep, provider: Provider
) -> dict[str, Any]:
    """Remove the stored key (the environment variable, if set, is used again)."""
    with ledger.engine.begin() as conn:
        before = status(conn, provider)
        if not forget(conn, provider):
            raise HTTPException(404, f"no key is stored for {provider}")
        audit.record(
            conn,
            action="provider_credentials.delete",
            target=f"provider:{provider}",
            before=before,
        )
        return status(conn, provider)
