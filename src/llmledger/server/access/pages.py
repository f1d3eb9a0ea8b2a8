"""The login page, and the access pages under ``/admin/llm-costs/access/``: users, API tokens,
ingest keys and the audit log.

Logging in and out use the JSON API (``login.py``) from ``static/login.js`` and
``static/app.js``: the session cookie, and the CSRF header for logging out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from llmledger.auth.audit import list_audit
from llmledger.auth.credentials import list_api_tokens, list_ingest_keys
from llmledger.auth.users import list_users
from llmledger.server.access.audit import instant
from llmledger.server.access.guard import Identified, identify_connection
from llmledger.server.access.schemas import ID_MAX
from llmledger.server.analytics.pages.common import ledger_of, now_of, page_router
from llmledger.server.web.errors import PageError
from llmledger.server.web.render import BASE, NavItem, page
from llmledger.server.web.view import View, read_view
from llmledger.server.web.viewer import Viewer, ViewerDep

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of this site only (never another host)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return BASE
    return value


@router.get("/login")
async def login_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if request.cookies:
        outcome = await run_in_threadpool(identify_connection, request)
        if isinstance(outcome, Identified) and outcome.session_id is not None:
            return RedirectResponse(target, status_code=303)
    env = request.app.state.templates
    html = env.get_template("login.html").render(next=target)
    return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})


# ---- the access pages: users, API tokens, ingest keys, the audit log ----
#
# Each lists what its GET endpoint returns, through the same ``auth`` functions and with the same
# rules (users and the audit log: admins; ingest keys: admins and org admins, their own
# organisation; API tokens: your own, admins everyone's). Changes are made by ``static/admin.js``
# through the API routes themselves, with the session's CSRF token.

pages = page_router()
ROLES = ("admin", "org_admin", "viewer")
AUDIT_PAGE = 100


def _tabs(viewer: Viewer, view: View) -> list[NavItem]:
    tabs = [
        ("users", "Users", viewer.is_admin),
        ("tokens", "API tokens", True),
        ("keys", "Ingest keys", viewer.principal.role in ("admin", "org_admin")),
        ("audit", "Audit log", viewer.is_admin),
    ]
    out = []
    for path, label, shown in tabs:
        href = f"{BASE}/access/{path}"
        if shown:
            out.append(NavItem(view.url(href, keep=False), label, view.path == href))
    return out


def _view(request: Request) -> View:
    return read_view(request.url.path, request.query_params, now_of(request))


def _access_page(
    request: Request, viewer: Viewer, view: View, template: str, title: str, **context: Any
) -> Response:
    return page(
        request,
        viewer,
        view,
        f"access/{template}",
        title=title,
        tabs=_tabs(viewer, view),
        can_change=viewer.csrf is not None,
        **context,
    )


@pages.get("/access")
async def access_home(viewer: ViewerDep) -> RedirectResponse:
    return RedirectResponse(f"{BASE}/access/{'users' if viewer.is_admin else 'tokens'}", 303)


def _flag(view: View, name: str) -> bool | None:
    value = view.get(name)
    if value not in (None, "true", "false"):
        raise PageError(422, f"{name}: must be true or false")
    return None if value is None else value == "true"


@pages.get("/access/users")
def users_page(request: Request, viewer: ViewerDep) -> Response:
    viewer.require_admin()
    view = _view(request)
    role = view.get("role")
    if role is not None and role not in ROLES:
        raise PageError(422, f"role: must be one of {', '.join(ROLES)}")
    with ledger_of(request).engine.connect() as conn:
        users = list_users(conn, org_id=view.get("orgId"), role=role, active=_flag(view, "active"))
    return _access_page(
        request, viewer, view, "users.html", "Users", users=users, roles=ROLES, role=role or ""
    )


@pages.get("/access/tokens")
def tokens_page(request: Request, viewer: ViewerDep) -> Response:
    view = _view(request)
    revoked = bool(_flag(view, "includeRevoked"))
    p = viewer.principal
    with ledger_of(request).engine.connect() as conn:
        tokens = []
        if p.is_admin or p.user_id is not None:  # as GET /tokens: admins everyone's
            owner = None if p.is_admin else p.user_id
            tokens = list_api_tokens(conn, user_id=owner, include_revoked=revoked)
        people = list_users(conn, active=True) if p.is_admin else []
    return _access_page(
        request,
        viewer,
        view,
        "tokens.html",
        "API tokens",
        tokens=tokens,
        people=people,
        include_revoked=revoked,
    )


@pages.get("/access/keys")
def keys_page(request: Request, viewer: ViewerDep) -> Response:
    if viewer.principal.role not in ("admin", "org_admin"):
        raise PageError(403, "ingest keys are for admins and org admins")
    view = _view(request)
    org = viewer.scope(view.get("orgId"))
    revoked = bool(_flag(view, "includeRevoked"))
    with ledger_of(request).engine.connect() as conn:
        keys = list_ingest_keys(conn, org_id=org, include_revoked=revoked)
    return _access_page(
        request, viewer, view, "keys.html", "Ingest keys", keys=keys, include_revoked=revoked
    )


@pages.get("/access/audit")
def audit_page(request: Request, viewer: ViewerDep) -> Response:
    viewer.require_admin()
    view = _view(request)
    text = {k: view.get(k) for k in ("action", "actor", "target", "orgId")}
    for name, value in text.items():
        if value is not None and (len(value) > 400 or "\x00" in value):
            raise PageError(422, f"{name}: at most 400 characters")
    cursor = view.get("cursor")
    if cursor is not None and (not cursor.isdigit() or not 1 <= int(cursor) <= ID_MAX):
        raise PageError(422, "cursor: must be a row id")
    try:
        start = instant("startDate", view.get("startDate"), end=False)
        end = instant("endDate", view.get("endDate"), end=True)
    except HTTPException as exc:
        raise PageError(422, str(exc.detail)) from None
    with ledger_of(request).engine.connect() as conn:
        data = list_audit(
            conn,
            action=text["action"],
            actor=text["actor"],
            target=text["target"],
            org_id=text["orgId"],
            start_us=start,
            end_us=end,
            limit=AUDIT_PAGE,
            cursor=int(cursor) if cursor else None,
        )
    more = data["nextCursor"]
    return _access_page(
        request,
        viewer,
        view,
        "audit.html",
        "Audit log",
        entries=data["entries"],
        filters=text,
        next_url=view.url(cursor=more) if more else None,
        first_url=view.url(cursor=None) if cursor else None,
    )
