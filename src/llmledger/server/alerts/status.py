"""The live state of rules: ``GET /api/v1/admin/llm-costs/alerts/status`` (every active rule
the caller may see, and the non-OK ones in the seed's ``alerts`` shape) and
``GET /api/v1/budget-status`` (whether a blocking rule stops a call: ingest keys may ask for
their own organisation, which is what the SDK's ``enforce_budgets`` does)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from llmledger.alerts.check import raw_from
from llmledger.alerts.status import budget_status, status
from llmledger.analytics.filters import clean_label
from llmledger.server.alerts.answers import BudgetStatusOut, StatusOut
from llmledger.server.analytics.params import NowDep, as_422, scoped_org
from llmledger.server.deps import LedgerDep, PrincipalDep, ReaderDep, RolesFirst

PREFIX = "/api/v1/admin/llm-costs"
router = APIRouter(prefix=PREFIX, tags=["alerts"], route_class=RolesFirst)
budget_router = APIRouter(prefix="/api/v1", tags=["alerts"], route_class=RolesFirst)
Label = Annotated[str | None, Query(max_length=256)]


@router.get("/alerts/status", response_model=StatusOut)
def get_status(
    ledger: LedgerDep,
    principal: ReaderDep,
    now: NowDep,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=256)] = None,
) -> dict[str, Any]:
    """Every active rule with its ``state`` (OK, WARNING, CRITICAL), value, threshold, period
    and percent used, and ``alerts``: the non-OK ones as ``{type, message, threshold}``."""
    org = scoped_org(principal, org_id)
    settings = ledger.settings
    with ledger.engine.connect() as conn:
        return status(
            conn,
            now=now,
            org_id=org,
            scoped=not principal.is_admin,
            raw_from_us=raw_from(now, settings.retention_days),
            drift_percent=settings.reconciliation_drift_percent,
        )


@budget_router.get("/budget-status", response_model=BudgetStatusOut)
def get_budget_status(
    ledger: LedgerDep,
    principal: PrincipalDep,
    now: NowDep,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=256)] = None,
    agent: Label = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=256)] = None,
    provider: Label = None,
    model: Label = None,
) -> dict[str, Any]:
    """Whether a call of this organisation, agent and user (and, when given, provider and
    model) is over a blocking budget: ``blocked`` and the CRITICAL blocking rules that cover
    it. An ingest key asks for its own organisation (it is the default)."""
    if principal.role == "ingest":
        with as_422():
            asked = clean_label("orgId", org_id)
        if asked is not None and asked != principal.org_id:
            raise HTTPException(404, "no such organisation")
        org = principal.org_id
    else:
        org = scoped_org(principal, org_id)
    with as_422():
        call = {
            "org_id": org,
            "agent": clean_label("agent", agent),
            "user_id": clean_label("userId", user_id),
            "provider": (clean_label("provider", provider) or "").lower() or None,
            "model": clean_label("model", model),
        }
    with ledger.engine.connect() as conn:
        answer = budget_status(
            conn, call, now=now, raw_from_us=raw_from(now, ledger.settings.retention_days)
        )
    scope = {"orgId": org, "agent": call["agent"], "userId": call["user_id"]}
    return {**answer, "scope": scope}
