"""The monthly budget ``/forecast`` sets its projected month end against: the active
``monthly_limit`` rule whose scope is the query's scope.

A rule's scope (organisation, agent, user, provider, model) must equal the query's filters
exactly: a query for ``orgId=acme`` gets the rule of ``acme`` alone, not one of acme's agent
nor the global one; a query that also filters on what no rule can scope (operation, tier,
success) has no budget. When several active monthly rules share the scope, the lowest
threshold is the budget (the first to be crossed; on a tie, the oldest rule), and
``matchingRules`` says how many there were.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from llmledger.alerts.check import active_rules
from llmledger.alerts.rules import SCOPE
from llmledger.analytics.filters import Filters


def monthly_budget(conn: Connection, filters: Filters) -> dict[str, Any] | None:
    """The budget of ``filters``' scope (``None``: no active monthly rule has that scope)."""
    if filters.operation is not None or filters.tier is not None or filters.success is not None:
        return None
    wanted = {column: getattr(filters, column) for column in SCOPE.values()}
    if wanted["provider"] is not None:
        wanted["provider"] = wanted["provider"].lower()
    rules = [
        r
        for r in active_rules(conn, org_id=filters.org_id)
        if r.alert_type == "monthly_limit"
        and r.threshold_cents is not None
        and all(getattr(r, column) == value for column, value in wanted.items())
    ]
    if not rules:
        return None
    rule = min(rules, key=lambda r: (r.threshold_cents or 0, r.id))
    cents = rule.threshold_cents or 0
    return {
        "amountUsd": cents / 100,
        "thresholdCents": cents,
        "ruleId": rule.id,
        "ruleName": rule.name,
        "timezone": rule.timezone,
        "action": rule.action,
        "matchingRules": len(rules),
    }
