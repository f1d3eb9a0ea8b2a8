"""Ingest keys: ``/api/v1/admin/ingest-keys``. Admins manage every organisation's, org admins
their own organisation's; viewers none. Keys are write-only and bound to one organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from llmledger.auth.credentials import get_ingest_key, list_ingest_keys
from llmledger.auth.tokens import create_ingest_key, revoke_ingest_key
from llmledger.auth.writing import writing
from llmledger.server.access.schemas import ID_MAX, NO_NUL, KeyIn, KeysOut, NewKeyOut
from llmledger.server.deps import AuditDep, LedgerDep, OrgAdminDep, RolesFirst, scope_org

router = APIRouter(prefix="/api/v1/admin/ingest-keys", tags=["access"], route_class=RolesFirst)


@router.get("", response_model=KeysOut)
def get_keys(
    ledger: LedgerDep,
    principal: OrgAdminDep,
    org_id: Annotated[
        str | None, Query(alias="orgId", min_length=1, max_length=256, pattern=NO_NUL)
    ] = None,
    include_revoked: Annotated[bool, Query(alias="includeRevoked")] = False,
) -> dict[str, Any]:
    """Ingest keys (never the keys themselves), with when each was last used."""
    org = scope_org(principal, org_id)
    with ledger.engine.connect() as conn:
        return {"keys": list_ingest_keys(conn, org_id=org, include_revoked=include_revoked)}


@router.post("", response_model=NewKeyOut, status_code=201)
def post_key(
    body: KeyIn, ledger: LedgerDep, principal: OrgAdminDep, audit: AuditDep
) -> dict[str, Any]:
    """Make an ingest key for an organisation (org admins: their own; ``orgId`` may be left
    out). The key is shown in this answer only."""
    org = scope_org(principal, body.orgId)
    if org is None:
        raise HTTPException(422, "orgId: say which organisation the key writes to")
    with writing(ledger.engine) as conn:
        key_id, secret = create_ingest_key(conn, org_id=org, name=body.name)
        row = get_ingest_key(conn, key_id)
        audit.record(conn, action="key.create", target=f"key:{key_id}", after=row, org_id=org)
    return {**(row or {}), "key": secret}


@router.delete("/{keyId}", status_code=204)
def delete_key(
    key_id: Annotated[int, Path(alias="keyId", ge=1, le=ID_MAX)],
    ledger: LedgerDep,
    principal: OrgAdminDep,
    audit: AuditDep,
) -> None:
    """Revoke an ingest key; it stops working at once."""
    with writing(ledger.engine) as conn:
        row = get_ingest_key(conn, key_id)
        if row is None or not (principal.is_admin or row["orgId"] == principal.org_id):
            raise HTTPException(404, "no such ingest key")
        if revoke_ingest_key(conn, key_id):
            audit.record(
                conn,
                action="key.revoke",
                target=f"key:{key_id}",
                before=row,
                after=get_ingest_key(conn, key_id),
                org_id=row["orgId"],
            )
