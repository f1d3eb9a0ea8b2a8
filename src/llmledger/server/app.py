"""The application factory: everything is built here from ``Settings``, nothing at import time."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version

from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse

from llmledger.auth.bootstrap import ensure_first_admin
from llmledger.auth.passwords import hasher_for
from llmledger.ledger import Ledger
from llmledger.server import (
    access,
    alerts,
    analytics,
    health,
    ingest,
    metrics,
    pricing,
    reference,
    web,
)
from llmledger.server import providers as provider_reports
from llmledger.server.access.guard import AuthGuard
from llmledger.server.hardening import BodyLimit, SecurityHeaders
from llmledger.settings import Settings
from llmledger.store.files import warn_if_exposed


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings | None = None,
    *,
    ledger: Ledger | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
    password_hasher: PasswordHasher | None = None,
) -> FastAPI:
    """Build the app. Pass a ``ledger`` to share one (tests); otherwise the app opens and
    migrates its own on startup and closes it on shutdown. ``password_hasher`` defaults to
    argon2id with the settings' parameters."""
    settings = settings or (ledger.settings if ledger else Settings())
    warn_if_exposed(settings)
    owns_ledger = ledger is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_ledger:
            app.state.ledger = Ledger.open(settings)
        app.state.ledger.writer.start()  # ready (GET /readyz) once it is up
        ensure_first_admin(app.state.ledger.engine, settings)
        alert_loop = alerts.start_loop(app)  # evaluate and deliver in the background
        imports = provider_reports.start_schedule(app)  # the hourly provider-report import
        try:
            yield
        finally:
            imports.stop()
            alert_loop.stop()
            if owns_ledger:
                app.state.ledger.close()

    app = FastAPI(
        title="llmledger",
        version=version("llmledger"),
        description="Self-hosted LLM cost monitor: ingest usage events, read exact spend.",
        lifespan=lifespan,
        # FastAPI's Swagger UI and ReDoc load from a CDN; nothing here may fetch from the
        # internet, so /docs is the self-contained reference page instead
        docs_url=None,
        redoc_url=None,
    )

    @app.get("/docs", include_in_schema=False)
    async def _docs() -> RedirectResponse:
        return RedirectResponse("/api/reference")

    app.state.settings = settings
    # made on first start and kept in the data directory (signs session cookies)
    app.state.secret_key = settings.resolved_secret_key()
    app.state.clock = clock
    app.state.password_hasher = password_hasher or hasher_for(settings)
    if ledger is not None:
        app.state.ledger = ledger

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        lines = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path")]
            lines.append(f"{'.'.join(loc) or 'request'}: {err.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(lines), "errors": lines}, status_code=422)

    # outermost first: headers on every answer, then the body limit, then who is calling
    app.add_middleware(AuthGuard)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.include_router(health.router)
    metrics.include(app)
    web.include(app)
    access.include(app)
    ingest.include(app)
    analytics.include(app)
    app.include_router(reference.router)
    pricing.include(app)
    alerts.include(app)
    provider_reports.include(app)
    return app
