"""Tables of access control: people, their web sessions, failed-login counters and the audit log.

API tokens and ingest keys live with the core tables (``llmledger.store.tables``); a token may
belong to a user (``api_tokens.user_id``) and then carries that user's current role.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, true

from llmledger.store.metadata import metadata

S = 256

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("name", String(S), nullable=False, server_default=""),
    Column("role", String(16), nullable=False),
    Column("org_id", String(S)),  # NULL for admins
    Column("password_hash", String(S)),  # NULL: cannot log in with a password (tokens only)
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

#: one row per logged-in browser; the cookie holds the signed session id, the row its hash
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("id_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("ip", String(64)),
    Column("user_agent", String(S)),
    Index("ix_web_sessions_user_id", "user_id"),
)

#: failed logins per account (``account:<email>``) and per client address (``addr:<ip>``)
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start_us", BigInteger, nullable=False),
)

#: append-only (triggers refuse UPDATE and DELETE); secrets in before/after are masked
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("actor_kind", String(16), nullable=False),  # session | token | cli | system
    Column("actor_user_id", Integer),
    Column("actor_label", String(400), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("credential_id", Integer),
    Column("ip", String(64)),
    Column("action", String(64), nullable=False),
    Column("target", String(400), nullable=False),
    Column("org_id", String(S)),  # the organisation the change concerns, if any
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_audit_log_ts", "ts_us"),
    Index("ix_audit_log_action", "action"),
)
