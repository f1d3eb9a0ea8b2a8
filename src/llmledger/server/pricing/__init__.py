"""The pricing area: the catalog API (``models``), LiteLLM syncs and re-pricing (``sync``), the
cost summary (``summary``), their schemas, and the pricing page (``pages``)."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.pricing import models, pages, summary, sync


def include(app: FastAPI) -> None:
    """Add the pricing routes to ``app``. The sync routes accept a whole catalog file as their
    body (LiteLLM's is ~3 MB), so they read and limit it themselves
    (``LLMLEDGER_MAX_PRICE_FILE_BYTES``) instead of the general request limit."""
    for module in (models, sync, summary, pages):
        app.include_router(module.router)
    own = frozenset(getattr(app.state, "own_body_limit_paths", ()))
    app.state.own_body_limit_paths = own | sync.OWN_BODY_PATHS
