"""The provider-reports area: reconciliation of tracked against billed (``reconciliation``),
what was billed (``billing``),
import runs (``imports``), stored provider keys (``credentials``) and the pages that show
them (``pages``). The work is ``llmledger.providers``'s; these modules present it."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.providers import (
    billing,
    credentials,
    imports,
    pages,
    reconciliation,
    usage,
)


def include(app: FastAPI) -> None:
    app.include_router(reconciliation.router)
    app.include_router(billing.router)
    app.include_router(imports.router)
    app.include_router(credentials.router)
    app.include_router(usage.router)
    pages.include(app)
