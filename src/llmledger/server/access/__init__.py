"""The access area: who is calling (``guard``), login and the caller's own account (``login``),
the admin routes for users, API tokens, ingest keys and the audit log, and the web pages
(``pages``: the login page and the access pages)."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.access import audit, keys, login, pages, tokens, users


def include(app: FastAPI) -> None:
    for module in (login, users, tokens, keys, audit, pages):
        app.include_router(module.router)
    app.include_router(pages.pages)
    app.state.public_paths = frozenset(getattr(app.state, "public_paths", ())) | {"/login"}
