"""Request dependencies: the ledger, the caller, role checks, scoping and the audit context.

The caller is resolved once per request by ``server.access.guard`` (bearer token or session cookie,
with CSRF for cookie-authenticated changes); the dependencies here only read it and check roles:

- ``PrincipalDep``: anyone authenticated (ingest keys included).
- ``ReaderDep``: users and their tokens, any role (scope reads with ``scope_org``).
- ``OrgAdminDep``: admins and org admins (scope the organisation with ``scope_org``).
- ``AdminDep``: platform admins only; everyone else gets 403.
- ``UserDep``: a person (a session, or a token of a user), any role.
- ``IngestDep``: ingest keys and admins.
- ``AuditDep``: who is calling and from where, to write audit rows (``auth.audit.Audit``).

Every router of the API is built with ``route_class=RolesFirst``: a route's role checks run
before FastAPI reads its body, so a caller who may not use a route gets 401/403 whatever it
sends, and never a 422 that describes the body the route wants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from argon2 import PasswordHasher
from fastapi import Depends, HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from llmledger.auth.audit import Audit
from llmledger.auth.tokens import Principal
from llmledger.ledger import Ledger
from llmledger.server.access.guard import Denial, Identified, identify_connection
from llmledger.store.rows import to_us


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


async def get_identified(request: Request) -> Identified:
    """The resolved caller (from the guard; resolved here on paths the guard leaves open)."""
    found = getattr(request.state, "identified", None)
    if isinstance(found, Identified):
        return found
    outcome = await run_in_threadpool(identify_connection, request)
    if isinstance(outcome, Denial):
        raise HTTPException(outcome.status, outcome.detail, headers=outcome.headers or None)
    request.state.identified = outcome
    return outcome


IdentifiedDep = Annotated[Identified, Depends(get_identified)]


async def get_principal(identified: IdentifiedDep) -> Principal:
    return identified.principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_ingest(principal: PrincipalDep) -> Principal:
    """Ingest keys and admin tokens may write events."""
    if principal.role not in ("ingest", "admin"):
        raise HTTPException(403, "writing events needs an ingest key or an admin token")
    return principal


def require_reader(principal: PrincipalDep) -> Principal:
    """Any user or user token may read (scoped to its organisation); ingest keys are write-only."""
    if principal.role == "ingest":
        raise HTTPException(403, "ingest keys are write-only")
    return principal


IngestDep = Annotated[Principal, Depends(require_ingest)]
ReaderDep = Annotated[Principal, Depends(require_reader)]


def require_org_admin(principal: ReaderDep) -> Principal:
    """Admins, and org admins for their own organisation (use ``scope_org`` for which)."""
    if principal.role not in ("admin", "org_admin"):
        raise HTTPException(403, "this needs an org admin or an admin")
    return principal


def require_admin(principal: ReaderDep) -> Principal:
    """Platform admins only."""
    if not principal.is_admin:
        raise HTTPException(403, "this needs an admin")
    return principal


def require_user(principal: ReaderDep) -> Principal:
    """A person: a session, or a token that belongs to a user."""
    if principal.user_id is None:
        raise HTTPException(403, "this credential belongs to no user")
    return principal


OrgAdminDep = Annotated[Principal, Depends(require_org_admin)]
UserDep = Annotated[Principal, Depends(require_user)]
AdminDep = Annotated[Principal, Depends(require_admin)]


#: the role checks: pure functions of the principal, safe to run ahead of everything else
ROLE_CHECKS: frozenset[Callable[[Principal], Principal]] = frozenset(
    {require_ingest, require_reader, require_org_admin, require_admin, require_user}
)


def _role_checks(dependant: Dependant) -> Iterator[Callable[[Principal], Principal]]:
    """The role checks of a route's dependencies, innermost first (the order FastAPI runs them)."""
    for sub in dependant.dependencies:
        yield from _role_checks(sub)
        if sub.call in ROLE_CHECKS:
            yield sub.call


class RolesFirst(APIRoute):
    """A route that checks the caller's role before its body is read or validated.

    FastAPI decodes a JSON body before it solves any dependency, so a role dependency alone
    would answer a malformed body with 422. The checks run again, unchanged, as dependencies.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        checks = tuple(dict.fromkeys(_role_checks(self.dependant)))
        if not checks:
            return handler

        async def roles_first(request: Request) -> Response:
            principal = (await get_identified(request)).principal
            for check in checks:
                check(principal)
            return await handler(request)

        return roles_first


def scope_org(principal: Principal, requested: str | None = None) -> str | None:
    """The organisation a query must be limited to, or ``None`` for all (admins only).

    A scoped caller that asks for another organisation gets 404, exactly as for one that does
    not exist, so nobody can probe which organisations exist.
    """
    if principal.is_admin:
        return requested
    if requested is not None and requested != principal.org_id:
        raise HTTPException(404, "no such organisation")
    return principal.org_id


def client_ip(request: Request) -> str | None:
    """The caller's address (behind a proxy, uvicorn's ``--forwarded-allow-ips`` decides
    whether ``X-Forwarded-For`` is believed)."""
    return request.client.host if request.client else None


def now_of(request: Request) -> dt.datetime:
    moment: dt.datetime = request.app.state.clock()
    return moment


def hasher_of(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.password_hasher
    return hasher


def audit_context(request: Request, principal: PrincipalDep) -> Audit:
    return Audit(principal, client_ip(request), to_us(now_of(request)))


AuditDep = Annotated[Audit, Depends(audit_context)]


#: ``openapi_extra`` of routes where any user acts on their own credentials only (log out,
#: change their password, manage their own API tokens). Every other state-changing route must
#: refuse viewers; the tenant-isolation test enumerates routes and holds them to that.
SELF_SERVICE: dict[str, Any] = {"x-self-service": True}
