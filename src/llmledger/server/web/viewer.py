"""Who is looking at a page, and which organisation they may see.

Pages are scoped like the API (``deps.scope_org``) with one difference: a scoped person who asks
for another organisation gets 403 — the same answer whether that organisation exists or not, so
nothing can be learnt from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from llmledger.auth.sessions import csrf_token
from llmledger.auth.tokens import Principal
from llmledger.server.deps import get_identified
from llmledger.server.web.errors import PageError

OWN_ORG_ONLY = "you can see your own organisation only"


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str | None  # the session's CSRF token (None for a bearer token)

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def org_id(self) -> str | None:
        return self.principal.org_id

    @property
    def label(self) -> str:
        return self.principal.label or self.principal.role

    def scope(self, requested: str | None) -> str | None:
        """The organisation a page is limited to (``None``: all, for admins)."""
        if self.is_admin:
            return requested
        if requested is not None and requested != self.principal.org_id:
            raise PageError(403, OWN_ORG_ONLY)
        return self.principal.org_id

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PageError(403, "this page is for admins")


async def get_viewer(request: Request) -> Viewer:
    identified = await get_identified(request)
    principal = identified.principal
    if principal.role == "ingest":
        raise PageError(403, "ingest keys are write-only: log in as a person to see pages")
    sid = identified.session_id
    return Viewer(principal, csrf_token(request.app.state.secret_key, sid) if sid else None)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
