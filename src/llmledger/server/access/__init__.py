"""The access area: who is calling (``guard``), login and the caller's own account (``login``),
and the admin routes for users, API tokens, ingest keys and the audit log."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.access import audit, keys, login, tokens, users


def include(app: FastAPI) -> None:
    for module in (login, users, tokens, keys, audit):
        app.include_router(module.router)
