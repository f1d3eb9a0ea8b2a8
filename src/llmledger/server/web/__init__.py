"""The web shell every area's pages share: templates and their rendering, static files, URL
state, tables, charts and number formats. Each area keeps its own pages beside its API routes
(``server/analytics/pages/``, ``server/access/pages.py``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from llmledger.server.web import assets
from llmledger.server.web.errors import PageError
from llmledger.server.web.render import BASE, environment, error_page


def include(app: FastAPI) -> None:
    app.state.templates = environment()
    # the browser asks for the icon before anyone has logged in
    app.state.public_paths = frozenset(getattr(app.state, "public_paths", ())) | {"/favicon.ico"}

    async def _page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return error_page(request, exc)

    app.add_exception_handler(PageError, _page_error)
    app.include_router(assets.router)

    @app.get("/", include_in_schema=False)
    async def _home() -> RedirectResponse:
        # the guard has already sent anyone not logged in to the login page
        return RedirectResponse(BASE, status_code=303)
