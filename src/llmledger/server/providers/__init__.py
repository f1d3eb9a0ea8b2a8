"""The provider-reports area: reconciliation of tracked against billed (``reconciliation``),
what was billed (``billing``),
import runs (``imports``), stored provider keys (``credentials``) and the pages that show
them (``pages``), and the hourly import the app runs in the background (``start_schedule``).
The work is ``llmledger.providers``'s; these modules present it."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.providers.schedule import ScheduledImports
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


def start_schedule(app: FastAPI) -> ScheduledImports:
    """Start the hourly import in the background (off when ``LLMLEDGER_IMPORTS_INTERVAL_SECONDS``
    is 0); the app's lifespan stops it."""
    ledger = app.state.ledger
    interval = app.state.settings.imports_interval_seconds
    schedule = ScheduledImports(
        ledger.engine, ledger.settings, interval_s=interval, clock=app.state.clock
    )
    app.state.import_schedule = schedule
    return schedule.start()
