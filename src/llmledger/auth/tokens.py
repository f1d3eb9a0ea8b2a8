"""API tokens and ingest keys: random secrets of which only a SHA-256 hash is stored.

A token is shown once, when it is made. Tokens are 256-bit random values, so a fast hash is the
right tool here (passwords, which are guessable, use argon2id instead).

A token may belong to a user; it then carries that user's *current* role and organisation, and
is revoked when the user is deactivated. Tokens without a user (made with
``llmledger tokens create --admin``) carry the role they were made with.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, or_, select, update

from llmledger.auth.tables import users
from llmledger.store import tables as t

TOKEN_PREFIX = "llt_"
INGEST_PREFIX = "lli_"
ROLES = ("admin", "org_admin", "viewer")
MAX_SECRET_LENGTH = 200
#: "last used" is written at most this often per credential, so readers rarely write
LAST_USE_EVERY_US = 60 * 1_000_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role and, for scoped roles and ingest keys, an organisation."""

    kind: str  # "token" | "ingest_key" | "session" | "cli" | "system"
    role: str  # "admin" | "org_admin" | "viewer" | "ingest"
    org_id: str | None
    credential_id: int
    user_id: int | None = None
    label: str = ""  # for the audit log: the user's email, or the token's name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now_us() -> int:
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
            created_us=now_us(),
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
            created_us=now_us(),
        )
    )
    return int(res.inserted_primary_key[0]), secret  # type: ignore[index]


def identify_bearer(conn: Connection, secret: str, at_us: int) -> tuple[Principal, bool] | None:
    """The principal a bearer secret stands for and whether its "last used" is due for an
    update; ``None`` when the secret is unknown or revoked (or its user deactivated)."""
    if len(secret) > MAX_SECRET_LENGTH:
        return None
    digest = hash_secret(secret)
    if secret.startswith(INGEST_PREFIX):
        k = t.ingest_keys
        key = conn.execute(
            select(k.c.id, k.c.key_hash, k.c.org_id, k.c.name, k.c.last_used_us).where(
                k.c.key_hash == digest, k.c.revoked_us.is_(None)
            )
        ).first()
        if key is None or not hmac.compare_digest(key.key_hash, digest):
            return None
        principal = Principal("ingest_key", "ingest", key.org_id, key.id, label=f"key {key.name}")
        return principal, _due(key.last_used_us, at_us)
    a, u = t.api_tokens, users
    token = conn.execute(
        select(
            a.c.id,
            a.c.token_hash,
            a.c.role,
            a.c.org_id,
            a.c.user_id,
            a.c.name,
            a.c.last_used_us,
            u.c.email,
            u.c.role.label("user_role"),
            u.c.org_id.label("user_org_id"),
            u.c.active,
        )
        .select_from(a.outerjoin(u, u.c.id == a.c.user_id))
        .where(a.c.token_hash == digest, a.c.revoked_us.is_(None))
    ).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.user_id is None:
        principal = Principal("token", token.role, token.org_id, token.id, label=token.name)
    elif token.email is None or not token.active:
        return None
    else:
        principal = Principal(
            "token", token.user_role, token.user_org_id, token.id, token.user_id, token.email
        )
    return principal, _due(token.last_used_us, at_us)


def _due(last_used_us: int | None, at_us: int) -> bool:
    return last_used_us is None or at_us - last_used_us >= LAST_USE_EVERY_US


def resolve_bearer(conn: Connection, secret: str) -> Principal | None:
    """The principal a bearer secret stands for, or ``None`` when it is unknown or revoked."""
    found = identify_bearer(conn, secret, now_us())
    return None if found is None else found[0]


def record_last_use(conn: Connection, principal: Principal, at_us: int) -> None:
    """Note that a token or key was used (a no-op when it was noted less than a minute ago)."""
    table = t.ingest_keys if principal.kind == "ingest_key" else t.api_tokens
    conn.execute(
        update(table)
        .where(
            table.c.id == principal.credential_id,
            or_(
                table.c.last_used_us.is_(None),
                table.c.last_used_us <= at_us - LAST_USE_EVERY_US,
            ),
        )
        .values(last_used_us=at_us)
    )


def revoke_api_token(conn: Connection, token_id: int) -> bool:
    a = t.api_tokens
    res = conn.execute(
        update(a).where(a.c.id == token_id, a.c.revoked_us.is_(None)).values(revoked_us=now_us())
    )
    return res.rowcount > 0


def revoke_user_tokens(conn: Connection, user_id: int) -> int:
    """Revoke every live token of a user; returns how many."""
    a = t.api_tokens
    res = conn.execute(
        update(a)
        .where(a.c.user_id == user_id, a.c.revoked_us.is_(None))
        .values(revoked_us=now_us())
    )
    return int(res.rowcount)


def revoke_ingest_key(conn: Connection, key_id: int) -> bool:
    k = t.ingest_keys
    res = conn.execute(
        update(k).where(k.c.id == key_id, k.c.revoked_us.is_(None)).values(revoked_us=now_us())
    )
    return res.rowcount > 0
