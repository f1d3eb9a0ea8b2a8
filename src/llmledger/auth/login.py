"""Password login, throttled per account and per client address.

Failures are counted in the database (``login_failures``) so that every app node behind a load
balancer sees the same counts. Once an account or an address has ``max`` failures inside the
window, every try (right password or not) is refused until the window ends. The password is
checked outside any transaction: argon2 takes tens of milliseconds and must not hold a lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, case, delete, select, update

from llmledger.auth.passwords import verify_password
from llmledger.auth.sessions import NewSession, create_session
from llmledger.auth.tables import login_failures, users
from llmledger.auth.users import user_json
from llmledger.auth.writing import writing
from llmledger.store.dialect import insert_ignore_sql


@dataclass(frozen=True, slots=True)
class Limits:
    per_account: int
    per_address: int
    window_us: int


class Throttled(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: dict[str, Any]
    session: NewSession


def _keys(email: str, ip: str | None, limits: Limits) -> list[tuple[str, int]]:
    keys = [(f"account:{email.strip().lower()[:320]}", limits.per_account)]
    if ip:
        keys.append((f"addr:{ip[:64]}", limits.per_address))
    return keys


def _retry_after(conn: Connection, keys: list[tuple[str, int]], at_us: int, window: int) -> int:
    lf = login_failures.c
    rows = conn.execute(
        select(lf.key, lf.failures, lf.window_start_us).where(lf.key.in_([k for k, _ in keys]))
    ).all()
    limit = dict(keys)
    wait = 0
    for row in rows:
        ends = row.window_start_us + window
        if row.failures >= limit[row.key] and ends > at_us:
            wait = max(wait, -(-(ends - at_us) // 1_000_000))
    return wait


def _note_failure(conn: Connection, keys: list[tuple[str, int]], at_us: int, window: int) -> None:
    lf = login_failures.c
    sql = insert_ignore_sql(
        conn.dialect.name, "login_failures", ("key", "failures", "window_start_us"), ("key",)
    )
    conn.exec_driver_sql(sql, [(key, 0, at_us) for key, _ in keys])
    # counters of windows long gone (guessed emails, say) are dropped as new failures come in
    conn.execute(delete(login_failures).where(lf.window_start_us < at_us - 2 * window))
    stale = lf.window_start_us <= at_us - window
    conn.execute(
        update(login_failures)
        .where(lf.key.in_([k for k, _ in keys]))
        .values(
            failures=case((stale, 1), else_=lf.failures + 1),
            window_start_us=case((stale, at_us), else_=lf.window_start_us),
        )
    )


def log_in(
    engine: Engine,
    hasher: PasswordHasher,
    *,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    limits: Limits,
    at_us: int,
    lifetime_us: int,
) -> LoginResult | None:
    """A new session for the right email and password; ``None`` for a wrong one (which is
    counted). Raises ``Throttled`` while the account or the address is locked."""
    keys = _keys(email, ip, limits)
    with engine.connect() as conn:
        wait = _retry_after(conn, keys, at_us, limits.window_us)
        row = conn.execute(
            select(users).where(users.c.email == email.strip().lower()[:320])
        ).first()
    if wait:
        raise Throttled(wait)
    stored = row.password_hash if row is not None else None
    ok = verify_password(hasher, stored, password) and row is not None and bool(row.active)
    with writing(engine) as conn:
        if not ok or row is None:
            _note_failure(conn, keys, at_us, limits.window_us)
            return None
        conn.execute(delete(login_failures).where(login_failures.c.key == keys[0][0]))
        if hasher.check_needs_rehash(stored or ""):
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=hasher.hash(password))
            )
        session = create_session(
            conn,
            user_id=row.id,
            at_us=at_us,
            lifetime_us=lifetime_us,
            ip=ip,
            user_agent=user_agent,
        )
    return LoginResult(user_json(row), session)
