"""What every provider-reports page shares: its place under ``/admin/llm-costs/providers``,
the tab strip between the pages, and the rule that they are for admins, as the admin API
they present is (``/api/v1/admin/...`` answers 403 to anyone else)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from llmledger.server.web.errors import PageError
from llmledger.server.web.render import BASE, page
from llmledger.server.web.view import View
from llmledger.server.web.viewer import Viewer

PAGE = f"{BASE}/providers"


def admin_only(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise PageError(403, "provider reports are for admins: they cover every organisation")


def provider_page(
    request: Request,
    viewer: Viewer,
    view: View,
    template: str,
    **context: Any,
) -> Response:
    """``page`` with the provider pages' tab strip above the content."""
    from llmledger.server.providers.pages import TABS  # the package lists the pages

    subnav = [
        {
            "href": view.url(f"{PAGE}/{path}", keep=False),
            "label": label,
            "current": view.path == f"{PAGE}/{path}",
        }
        for path, label in TABS
    ]
    return page(request, viewer, view, f"providers/{template}", subnav=subnav, **context)
