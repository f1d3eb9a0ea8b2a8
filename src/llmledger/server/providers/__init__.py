"""The provider-reports area: reconciliation of tracked against billed (``reconciliation``)
and import runs (``imports``). The work is ``llmledger.providers``'s; these modules present it."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.providers import imports, reconciliation


def include(app: FastAPI) -> None:
    app.include_router(reconciliation.router)
    app.include_router(imports.router)
