"""Web sessions: a random session id, signed into an HttpOnly cookie; the database keeps only its
hash, so logging out, deactivating a user or changing a password ends a session at once.

The CSRF token of a session is an HMAC of its id under the secret key: the page reads it from
``/api/v1/me`` (or the login answer) and sends it back as ``X-CSRF-Token`` with every
state-changing request. A cross-site page can make the browser send the cookie, but can neither
read the token nor set that header without a CORS preflight we never grant.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection, delete, select

from llmledger.auth.tables import users, web_sessions
from llmledger.auth.tokens import Principal, hash_secret

COOKIE = "llmledger_session"
CSRF_HEADER = "x-csrf-token"
_SALT = "llmledger.session"
_MAX_COOKIE = 400


@dataclass(frozen=True, slots=True)
class NewSession:
    session_id: str  # the secret; only its hash is stored
    row_id: int
    expires_us: int


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def cookie_value(secret_key: str, session_id: str) -> str:
    return _serializer(secret_key).dumps(session_id)


def read_cookie(secret_key: str, value: str, max_age_s: float) -> str | None:
    """The session id a cookie carries, or ``None`` if it is forged, expired or malformed."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    try:
        session_id = _serializer(secret_key).loads(value, max_age=round(max_age_s))
    except (BadSignature, ValueError, TypeError):
        return None
    return session_id if isinstance(session_id, str) else None


def csrf_token(secret_key: str, session_id: str) -> str:
    mac = hmac.new(secret_key.encode(), b"csrf:" + session_id.encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_ok(secret_key: str, session_id: str, sent: str | None) -> bool:
    if not sent or len(sent) > 128:
        return False
    return hmac.compare_digest(csrf_token(secret_key, session_id), sent)


def create_session(
    conn: Connection,
    *,
    user_id: int,
    at_us: int,
    lifetime_us: int,
    ip: str | None,
    user_agent: str | None,
) -> NewSession:
    conn.execute(
        delete(web_sessions).where(
            web_sessions.c.user_id == user_id, web_sessions.c.expires_us <= at_us
        )
    )
    session_id = secrets.token_urlsafe(32)
    expires = at_us + lifetime_us
    res = conn.execute(
        web_sessions.insert().values(
            id_hash=hash_secret(session_id),
            user_id=user_id,
            created_us=at_us,
            expires_us=expires,
            ip=(ip or "")[:64] or None,
            user_agent=(user_agent or "")[:256] or None,
        )
    )
    return NewSession(session_id, int(res.inserted_primary_key[0]), expires)  # type: ignore[index]


def identify_session(conn: Connection, session_id: str, at_us: int) -> Principal | None:
    """The logged-in user of a live session, with their current role and organisation."""
    s, u = web_sessions, users
    row = conn.execute(
        select(s.c.id, s.c.id_hash, u.c.id.label("user_id"), u.c.email, u.c.role, u.c.org_id)
        .select_from(s.join(u, u.c.id == s.c.user_id))
        .where(
            s.c.id_hash == hash_secret(session_id),
            s.c.expires_us > at_us,
            u.c.active.is_(True),
        )
    ).first()
    if row is None or not hmac.compare_digest(row.id_hash, hash_secret(session_id)):
        return None
    return Principal("session", row.role, row.org_id, row.id, row.user_id, row.email)


def end_session(conn: Connection, row_id: int) -> bool:
    return conn.execute(delete(web_sessions).where(web_sessions.c.id == row_id)).rowcount > 0


def end_user_sessions(conn: Connection, user_id: int, *, keep: int | None = None) -> int:
    """End every session of a user (but ``keep``); returns how many."""
    q = delete(web_sessions).where(web_sessions.c.user_id == user_id)
    if keep is not None:
        q = q.where(web_sessions.c.id != keep)
    return int(conn.execute(q).rowcount)
