"""Logging in and out of the web UI, and who am I: ``/api/v1/auth/*`` and ``/api/v1/me``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from llmledger.auth import devices
from llmledger.auth.credentials import iso
from llmledger.auth.login import check_current_password, log_in
from llmledger.auth.passwords import WeakPassword, check_strength, hash_password
from llmledger.auth.sessions import COOKIE, cookie_value, csrf_token, end_session, end_user_sessions
from llmledger.auth.throttle import Limits, Throttled, succeeded
from llmledger.auth.users import get_user, set_password
from llmledger.auth.writing import writing
from llmledger.server.access.schemas import LoginIn, LoginOut, MeOut, PasswordIn
from llmledger.server.deps import (
    SELF_SERVICE,
    AuditDep,
    IdentifiedDep,
    LedgerDep,
    RolesFirst,
    UserDep,
    client_ip,
    hasher_of,
    now_of,
)
from llmledger.settings import Settings
from llmledger.store.rows import to_us

log = logging.getLogger(__name__)
router = APIRouter(tags=["access"], route_class=RolesFirst)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _secure(request: Request) -> bool:
    configured = _settings(request).session_cookie_secure
    return request.url.scheme == "https" if configured is None else configured


def _known_device(request: Request, email: str) -> str | None:
    cookie = request.cookies.get(devices.COOKIE)
    return devices.known_device(request.app.state.secret_key, cookie, email)


def _too_many(exc: Throttled) -> HTTPException:
    return HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)})


@router.post(
    "/api/v1/auth/login",
    response_model=LoginOut,
    responses={401: {"description": "wrong email or password"}, 429: {"description": "locked"}},
)
def login(body: LoginIn, request: Request, response: Response, ledger: LedgerDep) -> dict[str, Any]:
    """Log in with email and password: sets the HttpOnly session cookie and returns the CSRF
    token to send as ``X-CSRF-Token`` with state-changing requests."""
    s = _settings(request)
    lifetime_us = round(s.session_hours * 3600 * 1_000_000)
    ip = client_ip(request)
    secret = request.app.state.secret_key
    try:
        result = log_in(
            ledger.engine,
            hasher_of(request),
            email=body.email,
            password=body.password,
            ip=ip,
            device=_known_device(request, body.email),
            user_agent=request.headers.get("user-agent"),
            limits=Limits.of(s),
            at_us=to_us(now_of(request)),
            lifetime_us=lifetime_us,
        )
    except Throttled as exc:
        log.warning("login refused (throttled) for %r from %s", body.email[:80], ip)
        raise _too_many(exc) from None
    if result is None:
        log.info("failed login for %r from %s", body.email[:80], ip)
        raise HTTPException(401, "wrong email or password")
    response.set_cookie(
        COOKIE,
        cookie_value(secret, result.session.session_id),
        max_age=lifetime_us // 1_000_000,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )
    # this browser is known from now on: guesses made elsewhere cannot lock it out
    response.set_cookie(
        devices.COOKIE,
        devices.device_cookie(secret, result.user["email"]),
        max_age=devices.LIFETIME_S,
        path="/api/v1/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return {
        "user": result.user,
        "csrfToken": csrf_token(secret, result.session.session_id),
        "expiresAt": iso(result.session.expires_us),
    }


@router.post("/api/v1/auth/logout", status_code=204, openapi_extra=SELF_SERVICE)
def logout(identified: IdentifiedDep, ledger: LedgerDep, response: Response) -> None:
    """End this session (its cookie stops working at once) and clear the cookie."""
    if identified.session_id is not None:
        with writing(ledger.engine) as conn:
            end_session(conn, identified.principal.credential_id)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


@router.get("/api/v1/me", response_model=MeOut)
def me(request: Request, identified: IdentifiedDep, ledger: LedgerDep) -> dict[str, Any]:
    """The caller: kind of credential, role, organisation, user, and the session's CSRF token."""
    p = identified.principal
    user = None
    if p.user_id is not None:
        with ledger.engine.connect() as conn:
            user = get_user(conn, p.user_id)
    sid = identified.session_id
    return {
        "kind": p.kind,
        "role": p.role,
        "orgId": p.org_id,
        "user": user,
        "csrfToken": csrf_token(request.app.state.secret_key, sid) if sid else None,
    }


@router.post(
    "/api/v1/me/password",
    status_code=204,
    openapi_extra=SELF_SERVICE,
    responses={
        403: {"description": "the current password is wrong, or no login session"},
        429: {"description": "too many wrong passwords; see Retry-After"},
    },
)
def change_password(
    body: PasswordIn,
    request: Request,
    identified: IdentifiedDep,
    p: UserDep,
    ledger: LedgerDep,
    audit: AuditDep,
) -> None:
    """Change your own password, logged in (the current one is required, and wrong ones are
    throttled like logins). Your other sessions end."""
    assert p.user_id is not None
    if identified.session_id is None:
        raise HTTPException(
            403, "changing a password needs a login session; an API token cannot do it"
        )
    try:
        check_strength(body.newPassword)
    except WeakPassword as exc:
        raise HTTPException(422, str(exc)) from None
    hasher = hasher_of(request)
    try:
        attempt = check_current_password(
            ledger.engine,
            hasher,
            user_id=p.user_id,
            password=body.currentPassword,
            ip=client_ip(request),
            device=_known_device(request, p.label),
            limits=Limits.of(_settings(request)),
            at_us=to_us(now_of(request)),
        )
    except Throttled as exc:
        raise _too_many(exc) from None
    if attempt is None:
        raise HTTPException(403, "the current password is wrong")
    digest = hash_password(hasher, body.newPassword)  # before the write lock is taken
    with writing(ledger.engine) as conn:
        succeeded(conn, attempt)
        set_password(conn, p.user_id, digest)
        ended = end_user_sessions(conn, p.user_id, keep=p.credential_id)
        audit.record(
            conn,
            action="user.password",
            target=f"user:{p.user_id}",
            after={"password": "changed", "sessionsEnded": ended},
            org_id=p.org_id,
        )
