"""The ingest area: ``POST /api/v1/events`` (``events``) and OTLP ``POST /v1/traces``
(``otlp``)."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.ingest import events, otlp


def include(app: FastAPI) -> None:
    app.include_router(events.router)
    app.include_router(otlp.router)
