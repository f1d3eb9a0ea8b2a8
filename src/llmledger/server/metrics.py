"""``GET /metrics``: the process's metrics in the Prometheus text format (docs/metrics.md).

Who may read it: admins (token or session), and the bearer ``LLMLEDGER_METRICS_TOKEN`` when it
is set, which can read nothing else. With ``LLMLEDGER_METRICS=false`` the path answers 404.
The guard leaves the path to this route, because the metrics token is no token of the
database; a caller without either credential still gets 401, and anyone else 403.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response

from llmledger.metrics import CONTENT_TYPE, metrics
from llmledger.server.deps import LedgerDep, get_identified

router = APIRouter(tags=["health"])

PATH = "/metrics"


def _metrics_token_matches(request: Request, token: str) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


@router.get(
    PATH,
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"},
        401: {"description": "no credentials"},
        403: {"description": "neither an admin nor the metrics token"},
        404: {"description": "LLMLEDGER_METRICS is false"},
    },
)
async def read_metrics(request: Request, ledger: LedgerDep) -> Response:
    """Ingest rates, writer group sizes, commit latency and queue depth, alert deliveries,
    import runs, price reloads and the process's own figures. No label names an organisation,
    a user or a model."""
    settings = ledger.settings
    if not settings.metrics:
        raise HTTPException(404, "Not Found")
    token = settings.metrics_token
    if token is None or not _metrics_token_matches(request, token.get_secret_value()):
        principal = (await get_identified(request)).principal
        if not principal.is_admin:
            raise HTTPException(403, "reading /metrics needs an admin or LLMLEDGER_METRICS_TOKEN")
    m = metrics()
    m.queue_depth.set(ledger.writer.queue_depth)
    m.groups_in_flight.set(ledger.writer.groups_in_flight)
    return Response(m.render(), media_type=CONTENT_TYPE)


def include(app: FastAPI) -> None:
    # the route decides who may read (the metrics token is no database token)
    app.state.public_paths = frozenset(getattr(app.state, "public_paths", ())) | {PATH}
    app.include_router(router)
