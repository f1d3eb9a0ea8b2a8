"""The first admin, made on start from ``LLMLEDGER_ADMIN_EMAIL`` / ``LLMLEDGER_ADMIN_PASSWORD``."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from llmledger.auth.audit import SYSTEM, record_audit
from llmledger.auth.passwords import WeakPassword, hash_password, hasher_for
from llmledger.auth.users import UserError, create_user, get_user_by_email
from llmledger.auth.writing import writing
from llmledger.settings import Settings

log = logging.getLogger(__name__)


def ensure_first_admin(engine: Engine, settings: Settings) -> bool:
    """Make the configured admin unless a user with that email exists; whether one was made.

    An existing user is left alone (its password is not reset from the environment), so the
    settings can stay in place after the first start.
    """
    if not settings.admin_email:
        return False
    if settings.admin_password is None:
        log.error("LLMLEDGER_ADMIN_EMAIL is set without LLMLEDGER_ADMIN_PASSWORD; no admin made")
        return False
    with engine.connect() as conn:
        if get_user_by_email(conn, settings.admin_email) is not None:
            return False
    try:
        # hashed before the write transaction, so argon2 never holds the write lock
        digest = hash_password(hasher_for(settings), settings.admin_password.get_secret_value())
        with writing(engine) as conn:
            if get_user_by_email(conn, settings.admin_email) is not None:
                return False  # another node made it meanwhile
            user = create_user(
                conn,
                email=settings.admin_email,
                role="admin",
                name="admin",
                password_hash=digest,
            )
            record_audit(
                conn, actor=SYSTEM, action="user.create", target=f"user:{user['id']}", after=user
            )
    except (UserError, WeakPassword) as exc:
        log.error("cannot make the admin from LLMLEDGER_ADMIN_EMAIL: %s", exc)
        return False
    log.info("made admin user %s from the settings", user["email"])
    return True
