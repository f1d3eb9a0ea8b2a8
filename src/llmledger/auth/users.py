"""People who log in: email, name, role, organisation (for scoped roles) and an active flag.

Users are never deleted, only deactivated, so the audit log can always name them. Service
functions take a connection (the caller's transaction) and return plain data. Passwords come
in hashed (``passwords.hash_password``, called before the transaction begins): argon2 must
never run while the transaction holds SQLite's write lock.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from llmledger.auth.credentials import iso
from llmledger.auth.tables import users
from llmledger.auth.tokens import ROLES, now_us, revoke_user_tokens

_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,255}$")
ORG_MAX = 256
NAME_MAX = 256


class UserError(ValueError):
    """A user change that is refused (bad value, or it would leave no admin)."""


class DuplicateEmail(UserError):
    pass


def normalize_email(email: str) -> str:
    text = email.strip().lower()
    if not _EMAIL.match(text):
        raise UserError("email must look like name@example.com")
    return text


def _check_role(role: str, org_id: str | None) -> str | None:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role == "admin":
        return None  # admins see every organisation
    org = (org_id or "").strip()
    if not org:
        raise UserError(f"a {role} needs an organisation")
    if len(org) > ORG_MAX or "\x00" in org:
        raise UserError(f"organisation must be at most {ORG_MAX} characters, without NUL")
    return org


def _check_name(name: str) -> str:
    text = name.strip()
    if len(text) > NAME_MAX or "\x00" in text:
        raise UserError(f"name must be at most {NAME_MAX} characters, without NUL")
    return text


def user_json(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "orgId": row.org_id,
        "active": bool(row.active),
        "hasPassword": row.password_hash is not None,
        "createdAt": iso(row.created_us),
        "updatedAt": iso(row.updated_us),
    }


def create_user(
    conn: Connection,
    *,
    email: str,
    role: str,
    org_id: str | None = None,
    name: str = "",
    password_hash: str | None = None,
) -> dict[str, Any]:
    """Make a user; without a password (hash) it can only use API tokens."""
    address = normalize_email(email)
    org = _check_role(role, org_id)
    if conn.execute(select(users.c.id).where(users.c.email == address)).first():
        raise DuplicateEmail(f"a user with email {address} exists")
    at = now_us()
    res = conn.execute(
        users.insert().values(
            email=address,
            name=_check_name(name),
            role=role,
            org_id=org,
            password_hash=password_hash,
            active=True,
            created_us=at,
            updated_us=at,
        )
    )
    found = get_user(conn, int(res.inserted_primary_key[0]))  # type: ignore[index]
    assert found is not None
    return found


def _row(conn: Connection, where: Any) -> Row[Any] | None:
    return conn.execute(select(users).where(where)).first()


def get_user(conn: Connection, user_id: int) -> dict[str, Any] | None:
    row = _row(conn, users.c.id == user_id)
    return None if row is None else user_json(row)


def get_user_by_email(conn: Connection, email: str) -> dict[str, Any] | None:
    try:
        address = normalize_email(email)
    except UserError:
        return None
    row = _row(conn, users.c.email == address)
    return None if row is None else user_json(row)


def list_users(
    conn: Connection,
    *,
    org_id: str | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> list[dict[str, Any]]:
    q = select(users).order_by(users.c.id)
    if org_id is not None:
        q = q.where(users.c.org_id == org_id)
    if role is not None:
        q = q.where(users.c.role == role)
    if active is not None:
        q = q.where(users.c.active == active)
    return [user_json(r) for r in conn.execute(q)]


def count_active_admins(conn: Connection) -> int:
    q = select(func.count()).where(users.c.role == "admin", users.c.active.is_(True))
    return int(conn.execute(q.select_from(users)).scalar_one())


_UNSET: Any = object()


def update_user(
    conn: Connection,
    user_id: int,
    *,
    role: str = _UNSET,
    org_id: str | None = _UNSET,
    name: str = _UNSET,
    active: bool = _UNSET,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Change a user; returns (before, after), or ``None`` when there is no such user.
    Refuses to demote or deactivate the last active admin. Deactivating a user revokes their
    API tokens for good: letting them in again later does not bring the old tokens back."""
    before = get_user(conn, user_id)
    if before is None:
        return None
    new_role = before["role"] if role is _UNSET else role
    new_org = before["orgId"] if org_id is _UNSET else org_id
    values: dict[str, Any] = {"role": new_role, "org_id": _check_role(new_role, new_org)}
    if name is not _UNSET:
        values["name"] = _check_name(name)
    if active is not _UNSET:
        values["active"] = bool(active)
    still_admin = new_role == "admin" and values.get("active", before["active"])
    losing_admin = before["role"] == "admin" and before["active"] and not still_admin
    if losing_admin and count_active_admins(conn) <= 1:
        raise UserError("this is the last active admin; make another admin first")
    values["updated_us"] = now_us()
    conn.execute(update(users).where(users.c.id == user_id).values(**values))
    if before["active"] and not values.get("active", True):
        revoke_user_tokens(conn, user_id)
    after = get_user(conn, user_id)
    assert after is not None
    return before, after


def set_password(conn: Connection, user_id: int, password_hash: str) -> bool:
    """Store a new password hash; whether there is such a user."""
    res = conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, updated_us=now_us())
    )
    return res.rowcount > 0
