"""The ingest area: ``POST /api/v1/events`` (``events``)."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.ingest import events


def include(app: FastAPI) -> None:
    app.include_router(events.router)
