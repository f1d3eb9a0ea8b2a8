"""The provider-reports pages under ``/admin/llm-costs/providers``, one module each, in the
order of their tabs. A module gives its ``router`` and its ``TAB`` (its path under the area
and its label); ``/providers`` itself opens the first.

Each page reads through the functions its API calls (``llmledger.providers``), so a page and
its API show the same figures.
"""

from __future__ import annotations

from types import ModuleType

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from llmledger.server.analytics.pages.common import page_router
from llmledger.server.providers.pages import billing, imports, reconciliation, usage
from llmledger.server.providers.pages.common import PAGE, admin_only
from llmledger.server.web.errors import PageError
from llmledger.server.web.viewer import ViewerDep

#: the pages, in the order of their tabs
MODULES: tuple[ModuleType, ...] = (
    reconciliation,
    billing,
    usage,
    imports,
)
TABS = [module.TAB for module in MODULES]

router = page_router()


@router.get("/providers")
def providers_page(viewer: ViewerDep) -> RedirectResponse:
    admin_only(viewer)
    if not TABS:
        raise PageError(404, "no provider-reports page is installed")
    return RedirectResponse(f"{PAGE}/{TABS[0][0]}", status_code=303)


def include(app: FastAPI) -> None:
    routers: list[APIRouter] = [router, *(module.router for module in MODULES)]
    for each in routers:
        app.include_router(each)
