"""Users, for platform admins: ``/api/v1/admin/users``. Every change lands in the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request

from llmledger.auth.passwords import WeakPassword, hash_password
from llmledger.auth.sessions import end_user_sessions
from llmledger.auth.users import UserError, create_user, get_user, list_users, update_user
from llmledger.auth.users import set_password as store_password
from llmledger.auth.writing import writing
from llmledger.server.access.schemas import (
    ID_MAX,
    NO_NUL,
    Role,
    UserIn,
    UserOut,
    UserPatch,
    UsersOut,
)
from llmledger.server.deps import AdminDep, AuditDep, LedgerDep, RolesFirst, hasher_of

router = APIRouter(prefix="/api/v1/admin/users", tags=["access"], route_class=RolesFirst)
UserId = Annotated[int, Path(alias="userId", ge=1, le=ID_MAX)]


def _hashed(request: Request, password: str | None) -> str | None:
    """The hash of a new password, made before the write transaction (argon2 is slow, and
    must not hold SQLite's write lock that every tenant's ingest needs)."""
    if password is None:
        return None
    try:
        return hash_password(hasher_of(request), password)
    except WeakPassword as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("", response_model=UsersOut)
def get_users(
    ledger: LedgerDep,
    _: AdminDep,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=256, pattern=NO_NUL)] = None,
    role: Role | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """Every user, oldest first; filter by organisation, role or active flag."""
    with ledger.engine.connect() as conn:
        return {"users": list_users(conn, org_id=org_id, role=role, active=active)}


@router.post("", response_model=UserOut, status_code=201)
def post_user(
    body: UserIn, request: Request, ledger: LedgerDep, _: AdminDep, audit: AuditDep
) -> dict[str, Any]:
    """Make a user (without a password it can only use API tokens)."""
    digest = _hashed(request, body.password)
    with writing(ledger.engine) as conn:
        try:
            user = create_user(
                conn,
                email=body.email,
                role=body.role,
                org_id=body.orgId,
                name=body.name,
                password_hash=digest,
            )
        except UserError as exc:
            raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from None
        audit.record(
            conn,
            action="user.create",
            target=f"user:{user['id']}",
            after=user,
            org_id=user["orgId"],
        )
    return user


@router.get("/{userId}", response_model=UserOut)
def get_one_user(user_id: UserId, ledger: LedgerDep, _: AdminDep) -> dict[str, Any]:
    with ledger.engine.connect() as conn:
        user = get_user(conn, user_id)
    if user is None:
        raise HTTPException(404, "no such user")
    return user


@router.patch("/{userId}", response_model=UserOut)
def patch_user(
    user_id: UserId,
    body: UserPatch,
    request: Request,
    ledger: LedgerDep,
    _: AdminDep,
    audit: AuditDep,
) -> dict[str, Any]:
    """Change name, role, organisation, active flag or password. Deactivating a user, or setting
    their password, ends their sessions; deactivating revokes their API tokens for good."""
    changes = body.model_dump(exclude_unset=True, exclude={"password"})
    fields = {"name": "name", "role": "role", "orgId": "org_id", "active": "active"}
    digest = _hashed(request, body.password)
    with writing(ledger.engine) as conn:
        try:
            found = update_user(conn, user_id, **{fields[k]: v for k, v in changes.items()})
            if found is not None and digest is not None:
                store_password(conn, user_id, digest)
        except UserError as exc:
            status = 409 if "last active admin" in str(exc) else 422
            raise HTTPException(status, str(exc)) from None
        if found is None:
            raise HTTPException(404, "no such user")
        before, after = found
        if not after["active"] or body.password is not None:
            end_user_sessions(conn, user_id)
        if changes:
            audit.record(
                conn,
                action="user.update",
                target=f"user:{user_id}",
                before=before,
                after=after,
                org_id=after["orgId"] or before["orgId"],
            )
        if body.password is not None:
            audit.record(
                conn,
                action="user.password",
                target=f"user:{user_id}",
                after={"password": "set by an admin"},
                org_id=after["orgId"],
            )
    return after
