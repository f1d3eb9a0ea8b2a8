"""The analytics area under ``/api/v1/admin/llm-costs``: totals and breakdowns (``totals``),
series (``series``), the request log and export (``log``) and rollup rebuilds (``aggregate``),
with their parameters and schemas, and the dashboard's pages (``pages/``). The figures come from
``llmledger.analytics``."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.analytics import aggregate, log, pages, series, totals


def include(app: FastAPI) -> None:
    for module in (totals, series, log, aggregate):
        app.include_router(module.router)
    for router in pages.ROUTERS:
        app.include_router(router)
