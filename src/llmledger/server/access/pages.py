"""The login page. Logging in and out use the JSON API (``login.py``) from ``static/login.js``
and ``static/app.js``: the session cookie, and the CSRF header for logging out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from llmledger.server.access.guard import Identified, identify_connection
from llmledger.server.web.render import BASE

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
