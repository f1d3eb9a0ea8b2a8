"""The alerts pages under ``/admin/llm-costs/alerts``: the rules with their live state, the
forms that make and change a rule, and the history of firings with each delivery.

A page only reads, through the functions the API calls with the same arguments: the rules of
``GET /alerts`` (``rulebook.list_rules``), their state from ``GET /alerts/status``
(``alerts.status.status``) and the firings of ``GET /alerts/history``
(``alerts.history.history``). Every change — make, change, enable, disable, delete, test — is
sent by ``static/alerts.js`` and ``static/admin.js`` to the rules API with the session's CSRF
token, so it is checked, scoped and audit-logged exactly like an API call.

Admins see and change every rule; org admins their own organisation's; viewers see their
organisation's rules and state with no controls, and the forms answer them 403. A rule the
caller may not see answers 404, as in the API.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import available_timezones

from fastapi import Path, Request
from fastapi.responses import Response

from llmledger.alerts import rulebook
from llmledger.alerts.check import raw_from
from llmledger.alerts.history import history
from llmledger.alerts.rules import ACTIONS, ALERT_TYPES, FREQUENCIES, Rule, rule_json
from llmledger.alerts.status import status
from llmledger.server.analytics.pages.common import ledger_of, now_of, page_router
from llmledger.server.web.errors import PageError
from llmledger.server.web.render import BASE, page
from llmledger.server.web.view import View, read_view
from llmledger.server.web.viewer import Viewer, ViewerDep

router = page_router()
PAGE = f"{BASE}/alerts"
API = "/api/v1/admin/llm-costs/alerts"
HISTORY_PAGE = 50
ID_MAX = 2**31 - 1
RuleId = Annotated[int, Path(alias="id", ge=1, le=ID_MAX)]
TYPE_LABELS = {
    "daily_limit": "Daily limit",
    "weekly_limit": "Weekly limit",
    "monthly_limit": "Monthly limit",
    "forecast_overrun": "Forecast overrun",
    "cost_spike": "Cost spike",
    "error_rate": "Error rate",
    "reconciliation_drift": "Reconciliation drift",
}
assert set(TYPE_LABELS) == set(ALERT_TYPES)
#: the zones the timezone field suggests (any IANA name is accepted)
ZONES = sorted(available_timezones())


def _view(request: Request, viewer: Viewer) -> tuple[View, str | None]:
    now = now_of(request)
    cutoff = raw_from(now, request.app.state.settings.retention_days)
    view = read_view(request.url.path, request.query_params, now, raw_from_us=cutoff)
    return view, viewer.scope(view.get("orgId"))


def _can_change(viewer: Viewer) -> bool:
    """Whether the API would take a change from this page's caller (a session of an admin or
    org admin: changes need the session's CSRF token)."""
    return viewer.principal.role in ("admin", "org_admin") and viewer.csrf is not None


def _may_change(viewer: Viewer) -> None:
    if viewer.principal.role not in ("admin", "org_admin"):
        raise PageError(403, "making and changing alert rules is for admins and org admins")
    if viewer.csrf is None:
        raise PageError(403, "log in to change alert rules from a page (a token has no session)")


def _rules(request: Request, viewer: Viewer, org: str | None) -> list[Rule]:
    """The rules of ``GET /alerts`` for this caller (an admin's ``orgId`` narrows them as it
    narrows ``GET /alerts/status``)."""
    scoped = not viewer.is_admin or org is not None
    with ledger_of(request).engine.connect() as conn:
        return rulebook.list_rules(conn, org_id=org, scoped=scoped)


def _page(request: Request, viewer: Viewer, view: View, template: str, **context: Any) -> Response:
    tabs = [("", "Rules"), ("/history", "History")]
    if _can_change(viewer):
        tabs.insert(1, ("/new", "New alert"))
    subnav = [
        {"href": view.url(PAGE + p, keep=False), "label": label, "current": view.path == PAGE + p}
        for p, label in tabs
    ]
    return page(
        request,
        viewer,
        view,
        f"alerts/{template}",
        subnav=subnav,
        can_change=_can_change(viewer),
        type_labels=TYPE_LABELS,
        rules_api=API,
        **context,
    )


@router.get("/alerts")
def rules_page(request: Request, viewer: ViewerDep) -> Response:
    view, org = _view(request, viewer)
    rules = _rules(request, viewer, org)
    ledger = ledger_of(request)
    with ledger.engine.connect() as conn:
        live = status(
            conn,
            now=view.now,
            org_id=org,
            scoped=not viewer.is_admin,
            raw_from_us=raw_from(view.now, ledger.settings.retention_days),
            drift_percent=ledger.settings.reconciliation_drift_percent,
        )
    states = {s["ruleId"]: s for s in live["rules"]}
    return _page(
        request,
        viewer,
        view,
        "rules.html",
        title="Alerts",
        api=f"{API}/status" + (f"?{urlencode({'orgId': org})}" if viewer.is_admin and org else ""),
        rules=[rule_json(r) for r in rules],
        states=states,
        counts=live["counts"],
        at=live["at"],
        org=org,
        drift_percent=float(ledger.settings.reconciliation_drift_percent),
    )


def _form(request: Request, viewer: Viewer, rule: dict[str, Any] | None, title: str) -> Response:
    _may_change(viewer)
    view, _ = _view(request, viewer)
    return _page(
        request,
        viewer,
        view,
        "form.html",
        title=title,
        api=f"{API}/{rule['id']}" if rule else API,
        rule=rule,
        alert_types=ALERT_TYPES,
        frequencies=FREQUENCIES,
        actions=ACTIONS,
        zones=ZONES,
        drift_percent=ledger_of(request).settings.reconciliation_drift_percent,
    )


@router.get("/alerts/new")
def new_rule_page(request: Request, viewer: ViewerDep) -> Response:
    return _form(request, viewer, None, "New alert")


@router.get("/alerts/history")
def history_page(request: Request, viewer: ViewerDep) -> Response:
    view, org = _view(request, viewer)
    rule_id = _whole(view, "ruleId")
    cursor = _whole(view, "cursor")
    level = view.get("level")
    if level is not None and level not in ("WARNING", "CRITICAL"):
        raise PageError(422, "level: must be WARNING or CRITICAL")
    limit = _whole(view, "limit") or HISTORY_PAGE
    if limit > 500:
        raise PageError(422, "limit: must be between 1 and 500")
    # as GET /alerts/history: dates filter only when given, the end only when it is
    dated = view.range == "custom"
    with ledger_of(request).engine.connect() as conn:
        data = history(
            conn,
            org_id=org,
            scoped=not viewer.is_admin,
            rule_id=rule_id,
            level=level,
            start_us=view.window.start_us if dated else None,
            end_us=view.window.end_us if dated and view.end else None,
            limit=limit,
            cursor=cursor,
        )
    more = data["nextCursor"]
    return _page(
        request,
        viewer,
        view,
        "history.html",
        title="Alert history",
        api=view.url(f"{API}/history", keep=True, csv=None),
        firings=data["firings"],
        rules=_rules(request, viewer, org),
        level=level or "",
        rule_id=rule_id,
        next_url=view.url(cursor=more) if more else None,
        first_url=view.url(cursor=None) if cursor else None,
    )


def _whole(view: View, name: str) -> int | None:
    text = view.get(name)
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= ID_MAX:
        raise PageError(422, f"{name}: must be a whole number from 1")
    return int(text)


@router.get("/alerts/{id}/edit")
def edit_rule_page(rule_id: RuleId, request: Request, viewer: ViewerDep) -> Response:
    _may_change(viewer)
    with ledger_of(request).engine.connect() as conn:
        rule = rulebook.get_rule(conn, rule_id)
    if rule is None or (not viewer.is_admin and rule.org_id != viewer.org_id):
        raise PageError(404, "no such alert rule")
    return _form(request, viewer, rule_json(rule), f"Edit alert: {rule.name}")
