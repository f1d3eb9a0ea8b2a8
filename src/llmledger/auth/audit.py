"""The audit log: who changed what, when, from where, with the value before and after.

Other modules call ``record_audit`` inside the transaction that makes the change, so a change and
its audit row commit (or roll back) together::

    with writing(ledger.engine) as conn:
        before = ...; after = ...  # plain data
        record_audit(conn, actor=principal, action="price.update", target=f"price:{row_id}",
                     before=before, after=after, ip=client_ip(request))

Secrets are masked before they are stored: any key that names a password, secret, token, key
hash or webhook URL, and any string that looks like one of our tokens or keys. Rows are never
updated or deleted (the database refuses it, see migration ``0003_auth``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import re
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, func, select

from llmledger.auth.credentials import iso
from llmledger.auth.tables import audit_log
from llmledger.auth.tokens import INGEST_PREFIX, TOKEN_PREFIX, Principal, now_us

MASK = "***"
_SECRET_NAME = re.compile(
    r"(password|secret|token|hash|apikey|adminkey|privatekey|authorization|cookie|webhookurl)$"
    r"|^(key|credentials?)$"
)


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(re.sub(r"[^a-z0-9]", "", name.lower())))


def mask(value: Any) -> Any:
    """``value`` as plain JSON data with every secret in it replaced by ``***``."""
    if isinstance(value, dict):
        return {
            str(k): MASK if _is_secret_name(str(k)) and not isinstance(v, bool | None) else mask(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((mask(v) for v in value), key=repr)
    if isinstance(value, str):
        # a whole token or key (a 12-character prefix, shown in lists, is no secret)
        secret = value.startswith((TOKEN_PREFIX, INGEST_PREFIX)) and len(value) > 16
        return MASK if secret else value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return mask(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):  # a pydantic model
        return mask(value.model_dump(mode="json"))
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def record_audit(
    conn: Connection,
    *,
    actor: Principal,
    action: str,
    target: str,
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
    org_id: str | None = None,
    at_us: int | None = None,
) -> int:
    """Write one audit row in the caller's transaction; returns its id.

    ``action`` is ``<thing>.<verb>`` (``user.create``, ``token.revoke``, ``price.update``);
    ``target`` names the thing (``user:12``); ``org_id`` is the organisation it concerns.
    """
    res = conn.execute(
        audit_log.insert().values(
            ts_us=now_us() if at_us is None else at_us,
            actor_kind=actor.kind[:16],
            actor_user_id=actor.user_id,
            actor_label=(actor.label or f"{actor.kind}:{actor.credential_id}")[:400],
            actor_role=actor.role[:16],
            credential_id=actor.credential_id or None,
            ip=(ip or "")[:64] or None,
            action=action[:64],
            target=target[:400],
            org_id=org_id,
            before=mask(before),
            after=mask(after),
        )
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def _entry(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": iso(row.ts_us),
        "actor": {
            "kind": row.actor_kind,
            "userId": row.actor_user_id,
            "label": row.actor_label,
            "role": row.actor_role,
            "credentialId": row.credential_id,
        },
        "ip": row.ip,
        "action": row.action,
        "target": row.target,
        "orgId": row.org_id,
        "before": row.before,
        "after": row.after,
    }


def list_audit(
    conn: Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    actor_user_id: int | None = None,
    target: str | None = None,
    org_id: str | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
    limit: int = 100,
    cursor: int | None = None,
) -> dict[str, Any]:
    """Audit rows, newest first. ``action`` without a dot matches a whole kind (``user``
    matches ``user.create``); ``cursor`` is the ``nextCursor`` of the previous page."""
    a = audit_log.c
    q = select(audit_log).order_by(a.id.desc()).limit(limit + 1)
    if action is not None:
        q = q.where(
            a.action == action
            if "." in action
            else a.action.startswith(f"{action}.", autoescape=True)
        )
    if actor is not None:
        q = q.where(func.lower(a.actor_label) == actor.lower())
    if actor_user_id is not None:
        q = q.where(a.actor_user_id == actor_user_id)
    if target is not None:
        q = q.where(a.target == target)
    if org_id is not None:
        q = q.where(a.org_id == org_id)
    if start_us is not None:
        q = q.where(a.ts_us >= start_us)
    if end_us is not None:
        q = q.where(a.ts_us < end_us)
    if cursor is not None:
        q = q.where(a.id < cursor)
    rows = conn.execute(q).all()
    more = len(rows) > limit
    entries = [_entry(r) for r in rows[:limit]]
    return {"entries": entries, "nextCursor": entries[-1]["id"] if more else None}


def cli_actor() -> Principal:
    """The person at the command line (the CLI has the database, so it acts as an admin)."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        who = "unknown"
    return Principal("cli", "admin", None, 0, label=f"cli:{who}")


@dataclasses.dataclass(frozen=True, slots=True)
class Audit:
    """Who makes a change, from where and when (``None``: now), ready to write its audit rows
    in the change's transaction. The server makes one per request, the CLI ``cli_audit()``."""

    actor: Principal
    ip: str | None = None
    at_us: int | None = None

    @property
    def label(self) -> str:
        return self.actor.label or f"{self.actor.kind}:{self.actor.credential_id}"

    def record(
        self,
        conn: Connection,
        *,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        org_id: str | None = None,
    ) -> int:
        return record_audit(
            conn,
            actor=self.actor,
            action=action,
            target=target,
            before=before,
            after=after,
            ip=self.ip,
            org_id=org_id,
            at_us=self.at_us,
        )


def cli_audit() -> Audit:
    """The audit of a command-line change: the person at the terminal, as an admin."""
    return Audit(cli_actor())


#: changes the server makes by itself (the first admin from the settings)
SYSTEM = Principal("system", "admin", None, 0, label="system")
