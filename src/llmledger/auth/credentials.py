"""Listing API tokens and ingest keys as plain data (never their hashes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Select, select

from llmledger.auth.tables import users
from llmledger.store import tables as t
from llmledger.store.rows import from_us


def iso(us: int | None) -> str | None:
    """An instant as RFC 3339 UTC text, or ``None``."""
    if us is None:
        return None
    return from_us(us).isoformat(timespec="seconds").replace("+00:00", "Z")


def _token_query() -> Select[Any]:
    a, u = t.api_tokens, users
    return (
        select(
            a.c.id,
            a.c.name,
            a.c.prefix,
            a.c.role,
            a.c.org_id,
            a.c.user_id,
            a.c.created_us,
            a.c.last_used_us,
            a.c.revoked_us,
            u.c.email,
            u.c.role.label("user_role"),
            u.c.org_id.label("user_org_id"),
        )
        .select_from(a.outerjoin(u, u.c.id == a.c.user_id))
        .order_by(a.c.id)
    )


def _token(row: Row[Any]) -> dict[str, Any]:
    owned = row.user_id is not None
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "role": row.user_role if owned else row.role,
        "orgId": row.user_org_id if owned else row.org_id,
        "userId": row.user_id,
        "userEmail": row.email,
        "createdAt": iso(row.created_us),
        "lastUsedAt": iso(row.last_used_us),
        "revokedAt": iso(row.revoked_us),
    }


def list_api_tokens(
    conn: Connection, *, user_id: int | None = None, include_revoked: bool = False
) -> list[dict[str, Any]]:
    """Tokens, oldest first; only one user's when ``user_id`` is given."""
    a = t.api_tokens
    q = _token_query()
    if user_id is not None:
        q = q.where(a.c.user_id == user_id)
    if not include_revoked:
        q = q.where(a.c.revoked_us.is_(None))
    return [_token(r) for r in conn.execute(q)]


def get_api_token(conn: Connection, token_id: int) -> dict[str, Any] | None:
    row = conn.execute(_token_query().where(t.api_tokens.c.id == token_id)).first()
    return None if row is None else _token(row)


def _key(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "orgId": row.org_id,
        "createdAt": iso(row.created_us),
        "lastUsedAt": iso(row.last_used_us),
        "revokedAt": iso(row.revoked_us),
    }


def _key_query() -> Select[Any]:
    k = t.ingest_keys
    return select(
        k.c.id, k.c.name, k.c.prefix, k.c.org_id, k.c.created_us, k.c.last_used_us, k.c.revoked_us
    ).order_by(k.c.id)


def list_ingest_keys(
    conn: Connection, *, org_id: str | None = None, include_revoked: bool = False
) -> list[dict[str, Any]]:
    """Ingest keys, oldest first; only one organisation's when ``org_id`` is given."""
    k = t.ingest_keys
    q = _key_query()
    if org_id is not None:
        q = q.where(k.c.org_id == org_id)
    if not include_revoked:
        q = q.where(k.c.revoked_us.is_(None))
    return [_key(r) for r in conn.execute(q)]


def get_ingest_key(conn: Connection, key_id: int) -> dict[str, Any] | None:
    row = conn.execute(_key_query().where(t.ingest_keys.c.id == key_id)).first()
    return None if row is None else _key(row)
