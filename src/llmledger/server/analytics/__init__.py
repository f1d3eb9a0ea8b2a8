"""The analytics area under ``/api/v1/admin/llm-costs``: totals and breakdowns (``totals``),
series (``series``), the request log and export (``log``) and rollup rebuilds (``aggregate``),
with their parameters and schemas. The figures come from ``llmledger.analytics``."""

from __future__ import annotations

from fastapi import FastAPI

from llmledger.server.analytics import aggregate, log, series, totals


def include(app: FastAPI) -> None:
    for module in (totals, series, log, aggregate):
        app.include_router(module.router)
