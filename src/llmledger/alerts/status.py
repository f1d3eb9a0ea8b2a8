"""The live state of rules: ``GET /alerts/status`` and the budget check the SDK asks for.

``status`` evaluates the active rules a caller may see and lists the non-OK ones in the seed's
shape (``{type, message, threshold}``). ``budget_status`` answers whether a blocking rule
(``action: "block"``) that covers a call's organisation, agent and user is CRITICAL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from llmledger.alerts.check import active_rules
from llmledger.alerts.evaluate import Evaluation, evaluate
from llmledger.alerts.fire import message
from llmledger.alerts.rules import Rule
from llmledger.analytics.window import iso
from llmledger.store.rows import to_us


def _rule_state(ev: Evaluation) -> dict[str, Any]:
    out = ev.as_json()
    out["message"] = message(ev, ev.state) if ev.state != "OK" else None
    out["figures"] = ev.extra
    return out


def status(
    conn: Connection,
    *,
    now: dt.datetime,
    org_id: str | None = None,
    scoped: bool = False,
    raw_from_us: int = 0,
    drift_percent: Decimal | None = None,
) -> dict[str, Any]:
    rules = active_rules(conn)
    if scoped or org_id is not None:
        rules = [r for r in rules if r.org_id == org_id]
    evaluations = evaluate(
        conn, rules, now=now, raw_from_us=raw_from_us, drift_percent=drift_percent
    )
    states = [_rule_state(ev) for ev in evaluations]
    alerts = [
        {
            "type": s["state"],
            "message": s["message"],
            "threshold": s["threshold"],
            "ruleId": s["ruleId"],
        }
        for s in states
        if s["state"] != "OK"
    ]
    counts = {
        level: sum(s["state"] == level for s in states) for level in ("OK", "WARNING", "CRITICAL")
    }
    return {"at": iso(to_us(now)), "rules": states, "alerts": alerts, "counts": counts}


def covers(rule: Rule, call: dict[str, str | None]) -> bool:
    """Whether ``rule``'s scope holds a call with these attributes (a field the rule sets
    must be the call's; one the call does not give never matches a rule that sets it)."""
    for column in rule.scope_columns:
        if call.get(column) is None or call[column] != getattr(rule, column):
            return False
    return True


def budget_status(
    conn: Connection, call: dict[str, str | None], *, now: dt.datetime, raw_from_us: int = 0
) -> dict[str, Any]:
    """Whether a call with these attributes (``org_id``, ``agent``, ``user_id``, ``provider``,
    ``model``) is over a blocking budget: every CRITICAL blocking rule that covers it."""
    rules = [r for r in active_rules(conn) if r.action == "block" and covers(r, call)]
    evaluations = evaluate(conn, rules, now=now, raw_from_us=raw_from_us)
    over = [_rule_state(ev) for ev in evaluations if ev.state == "CRITICAL"]
    return {
        "at": iso(to_us(now)),
        "blocked": bool(over),
        "rules": over,
        "checkedRules": len(rules),
    }
