"""Alert rules: ``/api/v1/admin/llm-costs/alerts`` and ``/alerts/{id}`` (list, make, read,
change, delete) and ``/alerts/{id}/test``.

Admins manage every rule; org admins the rules of their own organisation (a rule they make is
scoped to it); viewers read their organisation's rules. A rule of another organisation answers
404, exactly as one that does not exist. Every change is audit-logged, credentials masked.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse

from llmledger.alerts import rulebook
from llmledger.alerts.rules import DRIFT, Rule, RuleError, parse_rule, rule_json
from llmledger.alerts.sender import send_test
from llmledger.auth.tokens import Principal
from llmledger.ledger import Ledger
from llmledger.server.alerts.answers import Deleted, RuleOut, RulesOut, SentTestOut
from llmledger.server.alerts.schemas import RuleChange, RuleIn
from llmledger.server.analytics.params import NowDep
from llmledger.server.deps import AuditDep, LedgerDep, OrgAdminDep, ReaderDep, RolesFirst
from llmledger.store.rows import to_us

PREFIX = "/api/v1/admin/llm-costs"
router = APIRouter(prefix=PREFIX, tags=["alerts"], route_class=RolesFirst)
RuleId = Annotated[int, Path(alias="id", ge=1, le=2**31 - 1)]
DRIFT_ADMINS_ONLY = (
    "reconciliation_drift rules are for admins only: reconciliation compares a provider's "
    "whole account, not one organisation's"
)


def allow_private(request: Request) -> bool:
    return bool(getattr(request.app.state.settings, "allow_private_webhooks", False))


def refused(exc: RuleError) -> JSONResponse:
    lines = [f"{field}: {problem}" for field, problem in exc.errors.items()]
    return JSONResponse({"detail": "; ".join(lines), "errors": lines}, status_code=422)


def visible(rule: Rule | None, principal: Principal) -> Rule:
    """The rule if the caller may see it; else 404, as for a rule that does not exist."""
    if rule is None or (not principal.is_admin and rule.org_id != principal.org_id):
        raise HTTPException(404, "no such alert rule")
    return rule


def found(ledger: Ledger, rule_id: int, principal: Principal) -> Rule:
    with ledger.engine.connect() as conn:
        return visible(rulebook.get_rule(conn, rule_id), principal)


def _own_org(principal: Principal, values: dict[str, Any]) -> None:
    """Org admins keep their rules inside their organisation, and make no drift rules."""
    if principal.is_admin:
        return
    if values.get("alert_type") == DRIFT:
        raise HTTPException(403, DRIFT_ADMINS_ONLY)
    if values.get("org_id") != principal.org_id:
        raise HTTPException(403, "org admins manage their own organisation's rules only")


@router.get("/alerts", response_model=RulesOut)
def list_alerts(ledger: LedgerDep, principal: ReaderDep) -> dict[str, Any]:
    """Every rule the caller may see (an organisation's callers: its rules), by id."""
    with ledger.engine.connect() as conn:
        rules = rulebook.list_rules(conn, org_id=principal.org_id, scoped=not principal.is_admin)
    return {"rules": [rule_json(r) for r in rules]}


@router.post("/alerts", status_code=201, response_model=None)
def create_alert(
    body: RuleIn, request: Request, ledger: LedgerDep, principal: OrgAdminDep, audit: AuditDep
) -> dict[str, Any] | JSONResponse:
    """Make a rule. An org admin's rule is scoped to their organisation. The answer shows the
    webhook signing secret whole, once."""
    fields = body.model_dump(exclude_unset=True)
    if not principal.is_admin:
        if fields.get("alertType") == DRIFT:  # before the scope it would be refused for
            raise HTTPException(403, DRIFT_ADMINS_ONLY)
        fields.setdefault("orgId", principal.org_id)
    try:
        parsed = parse_rule(fields, allow_private=allow_private(request))
    except RuleError as exc:
        return refused(exc)
    _own_org(principal, parsed.values)
    rule = rulebook.create_rule(ledger.engine, parsed, audit=audit)
    return rule_json(rule, secret=parsed.secret)


@router.get("/alerts/{id}", response_model=RuleOut)
def get_alert(rule_id: RuleId, ledger: LedgerDep, principal: ReaderDep) -> dict[str, Any]:
    return rule_json(found(ledger, rule_id, principal))


@router.put("/alerts/{id}", response_model=None)
def put_alert(
    rule_id: RuleId,
    body: RuleChange,
    request: Request,
    ledger: LedgerDep,
    principal: OrgAdminDep,
    audit: AuditDep,
) -> dict[str, Any] | JSONResponse:
    """Change the fields the body names (null clears an optional one). A new webhook URL, or
    ``rotateWebhookSecret``, makes a new signing secret, shown once."""
    before = found(ledger, rule_id, principal)
    fields = body.model_dump(exclude_unset=True)
    if not principal.is_admin and fields.get("alertType") == DRIFT:
        raise HTTPException(403, DRIFT_ADMINS_ONLY)
    try:
        parsed = parse_rule(fields, current=before, allow_private=allow_private(request))
    except RuleError as exc:
        return refused(exc)
    _own_org(principal, parsed.values)
    rule = rulebook.update_rule(ledger.engine, before, parsed, audit=audit)
    return rule_json(rule, secret=parsed.secret)


@router.delete("/alerts/{id}", response_model=Deleted)
def delete_alert(
    rule_id: RuleId, ledger: LedgerDep, principal: OrgAdminDep, audit: AuditDep
) -> dict[str, Any]:
    """Delete the rule; what it fired stays in the history."""
    rule = found(ledger, rule_id, principal)
    rulebook.delete_rule(ledger.engine, rule, audit=audit)
    return {"deleted": rule.id}


@router.post("/alerts/{id}/test", response_model=SentTestOut)
def test_alert(
    rule_id: RuleId,
    request: Request,
    ledger: LedgerDep,
    principal: OrgAdminDep,
    audit: AuditDep,
    now: NowDep,
) -> dict[str, Any] | JSONResponse:
    """Send a test message, marked as one, to every channel of the rule now (not through the
    outbox: nothing is retried); each channel's result. Audit-logged as ``alert.test``."""
    rule = found(ledger, rule_id, principal)
    if not (rule.notification_emails or rule.slack_webhook_url or rule.webhook_url):
        return JSONResponse(
            {
                "detail": "the rule has no channels: set notificationEmails, slackWebhookUrl "
                "or webhookUrl first"
            },
            status_code=422,
        )
    settings = request.app.state.settings  # the SMTP server and public URL the sender uses
    sent = send_test(dataclasses.asdict(rule), settings, now_us=to_us(now))
    results = [dataclasses.asdict(r) for r in sent]
    rulebook.record_test(ledger.engine, rule, results, audit=audit)
    return {"ruleId": rule.id, "ok": all(r.ok for r in sent), "results": results}
