"""API tokens and ingest keys: random secrets of which only a SHA-256 hash is stored.

A token is shown once, when it is made. Tokens are 256-bit random values, so a fast hash is the
right tool here (passwords, which are guessable, use argon2id instead).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from llmledger.store import tables as t

TOKEN_PREFIX = "llt_"
INGEST_PREFIX = "lli_"
ROLES = ("admin", "org_admin", "viewer")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role and, for scoped roles and ingest keys, an organisation."""

    kind: str  # "token" | "ingest_key" | "session"
    role: str  # "admin" | "org_admin" | "viewer" | "ingest"
    org_id: str | None
    credential_id: int
    user_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now_us() -> int:
    return time.time_ns() // 1000


def create_api_token(
    conn: Connection,
    *,
    role: str,
    name: str,
    org_id: str | None = None,
    user_id: int | None = None,
) -> tuple[int, str]:
    """Make a token; returns its id and the plaintext (shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role != "admin" and not org_id:
        raise ValueError(f"a {role} token needs an organisation")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    res = conn.execute(
        t.api_tokens.insert().values(
            token_hash=hash_secret(secret),
            prefix=secret[:12],
            name=name,
            role=role,
            org_id=None if role == "admin" else org_id,
            user_id=user_id,
            created_us=_now_us(),
        )
    )
    return int(res.inserted_primary_key[0]), secret  # type: ignore[index]


def create_ingest_key(conn: Connection, *, org_id: str, name: str) -> tuple[int, str]:
    """Make a write-only ingest key bound to one organisation; returns its id and plaintext."""
    if not org_id:
        raise ValueError("an ingest key needs an organisation")
    secret = INGEST_PREFIX + secrets.token_urlsafe(32)
    res = conn.execute(
        t.ingest_keys.insert().values(
            key_hash=hash_secret(secret),
            prefix=secret[:12],
            name=name,
            org_id=org_id,
            created_us=_now_us(),
        )
    )
    return int(res.inserted_primary_key[0]), secret  # type: ignore[index]


def resolve_bearer(conn: Connection, secret: str) -> Principal | None:
    """The principal a bearer secret stands for, or ``None`` when it is unknown or revoked."""
    digest = hash_secret(secret)
    if secret.startswith(INGEST_PREFIX):
        k = t.ingest_keys
        row = conn.execute(
            select(k.c.id, k.c.key_hash, k.c.org_id).where(
                k.c.key_hash == digest, k.c.revoked_us.is_(None)
            )
        ).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        return Principal("ingest_key", "ingest", row.org_id, row.id)
    a = t.api_tokens
    token = conn.execute(
        select(a.c.id, a.c.token_hash, a.c.role, a.c.org_id, a.c.user_id).where(
            a.c.token_hash == digest, a.c.revoked_us.is_(None)
        )
    ).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    return Principal("token", token.role, token.org_id, token.id, token.user_id)


def revoke_api_token(conn: Connection, token_id: int) -> bool:
    a = t.api_tokens
    res = conn.execute(
        update(a).where(a.c.id == token_id, a.c.revoked_us.is_(None)).values(revoked_us=_now_us())
    )
    return res.rowcount > 0
