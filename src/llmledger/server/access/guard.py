"""Who is calling: the one place a request's credentials become a ``Principal``.

``AuthGuard`` is ASGI middleware. For every path but the public ones (login, health, static files
and the API description) it resolves the bearer token or the session cookie once, refuses the
request with 401 when there is none or it is not valid, checks the CSRF header of
state-changing requests made with the cookie (403), and leaves the principal in the request
state for ``deps.get_principal``. A route that forgets its auth dependency is therefore still
closed to anonymous callers. A web page (a ``GET`` outside ``/api/``) asked for without a valid
session is answered with a redirect to the login page instead of a JSON 401.

"Last used" of a token or key is written after the response, at most once a minute each.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from llmledger.auth.sessions import COOKIE, CSRF_HEADER, csrf_ok, identify_session, read_cookie
from llmledger.auth.tokens import Principal, identify_bearer, record_last_use
from llmledger.store.rows import to_us

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: paths anyone may call; extend ``app.state.public_paths`` / ``public_prefixes`` for more
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/api/v1/auth/login"}
    # the API description: the same for every deployment, no data in it
    | {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/api/reference"}
)
PUBLIC_PREFIXES = ("/static/",)


@dataclass(frozen=True, slots=True)
class Denial:
    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)
    clear_cookie: bool = False


@dataclass(frozen=True, slots=True)
class Identified:
    principal: Principal
    session_id: str | None = None  # set when the cookie was used
    last_use_due: bool = False


_BEARER = {"WWW-Authenticate": "Bearer"}


def identify(
    engine: Engine,
    *,
    authorization: str | None,
    cookie: str | None,
    method: str,
    csrf: str | None,
    secret_key: str,
    max_age_s: float,
    at_us: int,
) -> Identified | Denial:
    """Resolve a request's credentials. A bearer token wins over a cookie (and needs no CSRF
    token: a browser never attaches it on its own)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return Denial(401, "Authorization header must be 'Bearer <token>'", _BEARER)
        with engine.connect() as conn:
            found = identify_bearer(conn, value.strip(), at_us)
        if found is None:
            return Denial(401, "unknown or revoked token", _BEARER)
        return Identified(found[0], last_use_due=found[1])
    if cookie:
        session_id = read_cookie(secret_key, cookie, max_age_s)
        principal = None
        if session_id is not None:
            with engine.connect() as conn:
                principal = identify_session(conn, session_id, at_us)
        if principal is None or session_id is None:
            return Denial(401, "session expired or unknown; log in again", clear_cookie=True)
        if method not in SAFE_METHODS and not csrf_ok(secret_key, session_id, csrf):
            return Denial(403, "missing or wrong X-CSRF-Token header (read it from GET /api/v1/me)")
        return Identified(principal, session_id)
    return Denial(
        401, "authentication required: send 'Authorization: Bearer <token>' or log in", _BEARER
    )


#: paths that also take the credential as an ``x-api-key`` header (some OTLP exporters can set
#: no other)
API_KEY_PATHS = frozenset({"/v1/traces"})


def _authorization(conn: HTTPConnection) -> str | None:
    found = conn.headers.get("authorization")
    if found is None and conn.scope["path"] in API_KEY_PATHS:
        key = conn.headers.get("x-api-key")
        if key is not None:
            return f"Bearer {key}"
    return found


def identify_connection(conn: HTTPConnection) -> Identified | Denial:
    state = conn.app.state
    clock: Callable[[], dt.datetime] = state.clock
    return identify(
        state.ledger.engine,
        authorization=_authorization(conn),
        cookie=conn.cookies.get(COOKIE),
        method=conn.scope.get("method", "GET"),
        csrf=conn.headers.get(CSRF_HEADER),
        secret_key=state.secret_key,
        max_age_s=state.settings.session_hours * 3600,
        at_us=to_us(clock()),
    )


def denial_response(denial: Denial) -> JSONResponse:
    response = JSONResponse({"detail": denial.detail}, denial.status, headers=denial.headers)
    if denial.clear_cookie:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


#: where a page sends a caller who is not logged in (``next`` brings them back)
LOGIN_PAGE = "/login"


def is_page(scope: Scope) -> bool:
    """A web page rather than an API call: a plain ``GET`` outside ``/api/``."""
    path: str = scope["path"]
    return scope.get("method") in SAFE_METHODS and not path.startswith(("/api/", "/openapi"))


def login_redirect(scope: Scope, denial: Denial) -> Response:
    target = scope["path"]
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    response = RedirectResponse(f"{LOGIN_PAGE}?next={quote(target, safe='')}", status_code=303)
    if denial.clear_cookie:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def is_public(app_state: Any, path: str) -> bool:
    extra_paths: frozenset[str] = getattr(app_state, "public_paths", frozenset())
    extra_prefixes: tuple[str, ...] = getattr(app_state, "public_prefixes", ())
    return (
        path in PUBLIC_PATHS
        or path in extra_paths
        or path.startswith(PUBLIC_PREFIXES)
        or bool(extra_prefixes and path.startswith(extra_prefixes))
    )


def _touch(engine: Engine, principal: Principal, at_us: int) -> None:
    try:
        with engine.begin() as conn:
            record_last_use(conn, principal, at_us)
    except SQLAlchemyError as exc:  # "last used" is a hint; never fail a request over it
        log.debug(
            "could not record last use of %s %s: %s", principal.kind, principal.credential_id, exc
        )


class AuthGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["app"].state, scope["path"]):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        outcome = await run_in_threadpool(identify_connection, conn)
        if isinstance(outcome, Denial):
            if outcome.status == 401 and is_page(scope):
                await login_redirect(scope, outcome)(scope, receive, send)
            else:
                await denial_response(outcome)(scope, receive, send)
            return
        scope.setdefault("state", {})["identified"] = outcome
        try:
            await self.app(scope, receive, send)
        finally:
            if outcome.last_use_due:
                state = scope["app"].state
                at_us = to_us(state.clock())
                await run_in_threadpool(_touch, state.ledger.engine, outcome.principal, at_us)
