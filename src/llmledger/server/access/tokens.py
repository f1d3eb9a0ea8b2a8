"""API tokens: ``/api/v1/admin/tokens``. Every user manages their own; admins anyone's.

A token carries its user's current role and organisation. The plaintext is in the answer to the
create call only; the database keeps its SHA-256 hash. A revoked token stops working at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from llmledger.auth.credentials import get_api_token, list_api_tokens
from llmledger.auth.tokens import Principal, create_api_token, revoke_api_token
from llmledger.auth.users import get_user
from llmledger.auth.writing import writing
from llmledger.server.access.schemas import ID_MAX, NewTokenOut, TokenIn, TokensOut
from llmledger.server.deps import SELF_SERVICE, AuditDep, LedgerDep, ReaderDep, RolesFirst

router = APIRouter(prefix="/api/v1/admin/tokens", tags=["access"], route_class=RolesFirst)


def _whose(principal: Principal, user_id: int | None) -> int:
    """The user whose tokens the caller means: their own, or (admins) anyone's."""
    if user_id is None or user_id == principal.user_id:
        if principal.user_id is None:
            raise HTTPException(422, "this token belongs to no user: say which userId")
        return principal.user_id
    if not principal.is_admin:
        raise HTTPException(404, "no such user")
    return user_id


@router.get("", response_model=TokensOut)
def get_tokens(
    ledger: LedgerDep,
    principal: ReaderDep,
    user_id: Annotated[int | None, Query(alias="userId", ge=1, le=ID_MAX)] = None,
    include_revoked: Annotated[bool, Query(alias="includeRevoked")] = False,
) -> dict[str, Any]:
    """Your tokens with when each was last used (to the minute). Admins see everyone's, or one
    user's with ``userId``."""
    if principal.is_admin and user_id is None:
        owner = None
    elif principal.user_id is None and user_id is None:
        return {"tokens": []}
    else:
        owner = _whose(principal, user_id)
    with ledger.engine.connect() as conn:
        return {"tokens": list_api_tokens(conn, user_id=owner, include_revoked=include_revoked)}


@router.post("", response_model=NewTokenOut, status_code=201, openapi_extra=SELF_SERVICE)
def post_token(
    body: TokenIn, ledger: LedgerDep, principal: ReaderDep, audit: AuditDep
) -> dict[str, Any]:
    """Make a token for yourself (admins: for any user with ``userId``). It has its user's
    rights and is shown in this answer only."""
    owner = _whose(principal, body.userId)
    with writing(ledger.engine) as conn:
        user = get_user(conn, owner)
        if user is None or not user["active"]:
            raise HTTPException(404, "no such user")
        token_id, secret = create_api_token(
            conn, role=user["role"], name=body.name, org_id=user["orgId"], user_id=owner
        )
        row = get_api_token(conn, token_id)
        audit.record(
            conn, action="token.create", target=f"token:{token_id}", after=row, org_id=user["orgId"]
        )
    return {**(row or {}), "token": secret}


@router.delete("/{tokenId}", status_code=204, openapi_extra=SELF_SERVICE)
def delete_token(
    token_id: Annotated[int, Path(alias="tokenId", ge=1, le=ID_MAX)],
    ledger: LedgerDep,
    principal: ReaderDep,
    audit: AuditDep,
) -> None:
    """Revoke a token (yours; admins: anyone's). It stops working at once."""
    with writing(ledger.engine) as conn:
        row = get_api_token(conn, token_id)
        mine = row is not None and row["userId"] is not None and row["userId"] == principal.user_id
        if row is None or not (principal.is_admin or mine):
            raise HTTPException(404, "no such token")
        if revoke_api_token(conn, token_id):
            audit.record(
                conn,
                action="token.revoke",
                target=f"token:{token_id}",
                before=row,
                after=get_api_token(conn, token_id),
                org_id=row["orgId"],
            )
