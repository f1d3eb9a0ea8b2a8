"""Password login, and checking a logged-in user's current password, both throttled
(``auth.throttle``: each check is reserved before argon2 runs).

argon2 takes tens of milliseconds and much memory; it always runs outside any transaction,
so it never holds SQLite's write lock (which every tenant's ingest needs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update

from llmledger.auth.passwords import verify_password
from llmledger.auth.sessions import NewSession, create_session
from llmledger.auth.tables import users
from llmledger.auth.throttle import Attempt, Limits, forget_stale, reserve, succeeded
from llmledger.auth.users import user_json
from llmledger.auth.writing import writing


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: dict[str, Any]
    session: NewSession


def log_in(
    engine: Engine,
    hasher: PasswordHasher,
    *,
    email: str,
    password: str,
    ip: str | None,
    device: str | None,
    user_agent: str | None,
    limits: Limits,
    at_us: int,
    lifetime_us: int,
) -> LoginResult | None:
    """A new session for the right email and password; ``None`` for a wrong one (which stays
    counted). Raises ``throttle.Throttled`` while tries from this client are refused.
    ``device`` is the id of a known browser (``auth.devices``) of this account, if any."""
    attempt = reserve(engine, email=email, ip=ip, device=device, limits=limits, at_us=at_us)
    with engine.connect() as conn:
        row = conn.execute(
            select(users).where(users.c.email == email.strip().lower()[:320])
        ).first()
    stored = row.password_hash if row is not None else None
    ok = verify_password(hasher, stored, password) and row is not None and bool(row.active)
    if not ok or row is None:
        forget_stale(engine, limits=limits, at_us=at_us)
        return None
    rehashed = hasher.hash(password) if hasher.check_needs_rehash(stored or "") else None
    with writing(engine) as conn:
        succeeded(conn, attempt)
        if rehashed is not None:
            conn.execute(update(users).where(users.c.id == row.id).values(password_hash=rehashed))
        session = create_session(
            conn,
            user_id=row.id,
            at_us=at_us,
            lifetime_us=lifetime_us,
            ip=ip,
            user_agent=user_agent,
        )
    return LoginResult(user_json(row), session)


def check_current_password(
    engine: Engine,
    hasher: PasswordHasher,
    *,
    user_id: int,
    password: str,
    ip: str | None,
    device: str | None,
    limits: Limits,
    at_us: int,
) -> Attempt | None:
    """Whether ``password`` is the user's own, throttled like a login (on the same counters):
    the reserved attempt, to settle with ``throttle.succeeded`` in the transaction that uses
    it, or ``None`` for a wrong password. Raises ``throttle.Throttled``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.email, users.c.password_hash).where(users.c.id == user_id)
        ).first()
    email = row.email if row is not None else f"user:{user_id}"
    attempt = reserve(engine, email=email, ip=ip, device=device, limits=limits, at_us=at_us)
    if not verify_password(hasher, row.password_hash if row else None, password):
        forget_stale(engine, limits=limits, at_us=at_us)
        return None
    return attempt
