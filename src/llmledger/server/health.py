"""``GET /healthz`` (and ``HEAD``, for load balancers): the process is up and the database
answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from llmledger.server.deps import LedgerDep

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
