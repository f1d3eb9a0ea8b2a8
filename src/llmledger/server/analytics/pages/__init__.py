"""The analytics area's web pages under ``/admin/llm-costs``: a module per group of pages, each
a template over the plain data of the same ``llmledger.analytics`` functions the API calls."""

from __future__ import annotations

from fastapi import APIRouter

from llmledger.server.analytics.pages import breakdowns, log, orgs, overview, series, sessions

ROUTERS: tuple[APIRouter, ...] = (
    overview.router,
    orgs.router,
    log.router,
    sessions.router,
    breakdowns.router,
    series.router,
)
