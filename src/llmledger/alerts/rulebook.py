"""The stored rules: list, read, make, change and delete them, each change audit-logged in
its own transaction (credentials masked in the audit rows as in every answer)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from llmledger.alerts.rules import Parsed, Rule, audit_json, parse_rule
from llmledger.alerts.tables import alert_rules
from llmledger.auth.audit import Audit
from llmledger.auth.tokens import now_us
from llmledger.auth.writing import writing


def list_rules(conn: Connection, *, org_id: str | None = None, scoped: bool = False) -> list[Rule]:
    """Every rule, by id; ``scoped``: only the rules of ``org_id``."""
    c = alert_rules.c
    q = select(alert_rules).order_by(c.id)
    if scoped:
        q = q.where(c.org_id == org_id)
    return [Rule.from_row(r) for r in conn.execute(q)]


def get_rule(conn: Connection, rule_id: int) -> Rule | None:
    row = conn.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).first()
    return None if row is None else Rule.from_row(row)


def _now(audit: Audit) -> int:
    return audit.at_us if audit.at_us is not None else now_us()


def create_rule(engine: Engine, parsed: Parsed, *, audit: Audit) -> Rule:
    at = _now(audit)
    with writing(engine) as conn:
        values = {**parsed.values, "created_us": at, "updated_us": at}
        rule_id = conn.execute(alert_rules.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
        rule = get_rule(conn, int(rule_id))
        assert rule is not None
        audit.record(
            conn,
            action="alert.create",
            target=f"alert:{rule.id}",
            after=audit_json(rule),
            org_id=rule.org_id,
        )
    return rule


def update_rule(engine: Engine, before: Rule, parsed: Parsed, *, audit: Audit) -> Rule:
    at = _now(audit)
    with writing(engine) as conn:
        values: dict[str, Any] = {**parsed.values, "updated_us": max(at, before.updated_us)}
        conn.execute(update(alert_rules).where(alert_rules.c.id == before.id).values(**values))
        rule = get_rule(conn, before.id)
        assert rule is not None
        audit.record(
            conn,
            action="alert.update",
            target=f"alert:{rule.id}",
            before=audit_json(before),
            after=audit_json(rule),
            org_id=rule.org_id or before.org_id,
        )
    return rule


def delete_rule(engine: Engine, rule: Rule, *, audit: Audit) -> None:
    """Delete the rule; its firings and their deliveries stay in the history."""
    with writing(engine) as conn:
        conn.execute(delete(alert_rules).where(alert_rules.c.id == rule.id))
        audit.record(
            conn,
            action="alert.delete",
            target=f"alert:{rule.id}",
            before=audit_json(rule),
            org_id=rule.org_id,
        )


def record_test(engine: Engine, rule: Rule, results: list[dict[str, Any]], *, audit: Audit) -> None:
    """Audit-log a test message sent to ``rule``'s channels (``results``: each channel's, URLs
    masked as the sender reports them)."""
    with writing(engine) as conn:
        audit.record(
            conn,
            action="alert.test",
            target=f"alert:{rule.id}",
            after={"results": results},
            org_id=rule.org_id,
        )


def make_rule(engine: Engine, body: dict[str, Any], *, audit: Audit, allow_private: bool) -> Rule:
    """Check ``body`` and store the rule it describes (tests, the CLI)."""
    return create_rule(engine, parse_rule(body, allow_private=allow_private), audit=audit)
