"""Probes. ``GET /healthz`` (and ``HEAD``, for load balancers): the process is up and the
database answers (liveness). ``GET /readyz``: this node can take traffic — its database is
migrated to the code's head revision and the event writer is up (readiness). Neither needs
credentials: probes call them, and they say nothing about anyone's data."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from llmledger.ledger import Ledger
from llmledger.server.deps import LedgerDep
from llmledger.store import migrate

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(ledger: LedgerDep) -> JSONResponse:
    try:
        with ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the database is down: say so, do not 500
        return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": ledger.engine.dialect.name})


# HEAD answers the same without a body (load balancers' health checks use it)
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)


@cache
def _head() -> str | None:
    return migrate.head_revision()


def _not_ready(reason: str, **extra: str | None) -> JSONResponse:
    return JSONResponse({"status": "not ready", "reason": reason, **extra}, status_code=503)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    ledger: Ledger | None = getattr(request.app.state, "ledger", None)
    if ledger is None:
        return _not_ready("the database is not open yet")
    head = _head()
    try:
        current = migrate.current_revision(ledger.engine)
    except Exception as exc:  # the database is down
        return _not_ready(f"the database does not answer: {str(exc)[:200]}")
    if current != head:
        return _not_ready(
            "the database is not migrated to this version's schema (llmledger db upgrade)",
            migration=current,
            expected=head,
        )
    if not ledger.writer.running:
        return _not_ready("the event writer is not running")
    return JSONResponse({"status": "ready", "migration": head})


router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)
