"""The alerts area: rules (``rules``: list, make, read, change, delete, test), the history of
firings (``history``), the live state of rules and the budget check the SDK calls (``status``),
the alerts pages (``pages``) and the background round of ``llmledger serve``
(``start_loop``). The work is ``llmledger.alerts``'s; these modules present it."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.alerts.loop import AlertLoop
from llmledger.server.alerts import history, pages, rules, status


def include(app: FastAPI) -> None:
    # the fixed paths first: /alerts/history and /alerts/status are not rule ids
    for module in (history, status, rules):
        app.include_router(module.router)
    app.include_router(status.budget_router)
    # the pages: their fixed paths (/alerts/new, /alerts/history) come before /alerts/{id}/edit
    app.include_router(pages.router)


def start_loop(app: FastAPI) -> AlertLoop:
    """Start the alert round in the background (off when ``LLMLEDGER_ALERTS_INTERVAL_SECONDS``
    is 0); the app's lifespan stops it."""
    loop = AlertLoop(app.state.ledger.engine, app.state.settings, clock=app.state.clock)
    app.state.alert_loop = loop
    return loop.start()
