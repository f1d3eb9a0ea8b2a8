"""Rendering a page: the Jinja environment, the shell every page shares (header, navigation,
scope selector, date range) and the answer — HTML, or one of the page's tables as CSV when the
URL says ``csv=<table>``.

Templates only present: they get the plain data the analytics functions returned, the tables
and charts built from it, and the shell. They never see a database session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from llmledger.analytics.orgs import org_list
from llmledger.server.web.assets import static_url
from llmledger.server.web.charts import Chart, sparkline
from llmledger.server.web.errors import PageError
from llmledger.server.web.formats import FILTERS
from llmledger.server.web.tables import Table, csv_response
from llmledger.server.web.view import PRESETS, View
from llmledger.server.web.viewer import Viewer

BASE = "/admin/llm-costs"


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    current: bool


#: (path under BASE, label, admins only)
NAV = (
    ("", "Overview", False),
    ("/orgs", "Organisations", True),
    ("/requests", "Requests", False),
    ("/sessions", "Sessions", False),
    ("/agents", "Agents", False),
    ("/models", "Models", False),
    ("/users", "Users", False),
    ("/operations", "Operations", False),
    ("/usage-pattern", "Usage pattern", False),
    ("/forecast", "Forecast", False),
    ("/what-if", "What-if", False),
    ("/alerts", "Alerts", False),
    ("/pricing", "Pricing", False),
    ("/providers", "Providers", True),
    ("/access", "Access", False),
)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("llmledger.server", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(static=static_url, sparkline=sparkline, presets=PRESETS, base=BASE)
    return env


def _nav(viewer: Viewer, view: View) -> list[NavItem]:
    items = []
    for path, label, admin_only in NAV:
        href = BASE + path
        if admin_only and not viewer.is_admin:
            if path != "/orgs" or viewer.org_id is None:
                continue
            href, label = f"{BASE}/orgs/{viewer.org_id}", "Organisation"
        current = view.path == href or (bool(path) and view.path.startswith(href + "/"))
        items.append(NavItem(view.url(href, keep=False), label, current))
    return items


def _orgs(request: Request, viewer: Viewer) -> list[dict[str, str]]:
    if not viewer.is_admin:
        return []
    with request.app.state.ledger.engine.connect() as conn:
        return org_list(conn)


def page(
    request: Request,
    viewer: Viewer,
    view: View,
    template: str,
    *,
    title: str,
    tables: Sequence[Table] = (),
    charts: Sequence[Chart] = (),
    api: str | None = None,
    **context: Any,
) -> Response:
    """The page as HTML, or the table named by ``csv`` as CSV (the same rows)."""
    wanted = view.get("csv")
    if wanted is not None:
        for table in tables:
            if table.id == wanted:
                return csv_response(table, title.lower().replace(" ", "-"))
        raise PageError(404, f"csv: this page has no table {wanted!r}")
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(
        title=title,
        viewer=viewer,
        view=view,
        nav=_nav(viewer, view),
        orgs=_orgs(request, viewer),
        tables={t.id: t for t in tables},
        charts={c.id: c for c in charts},
        api=api,
        **context,
    )
    headers = {"Cache-Control": "no-store"}
    if view.get("refresh") == "30":
        headers["Refresh"] = "30"
    return HTMLResponse(html, headers=headers)


def error_page(request: Request, exc: PageError) -> Response:
    env: Environment = request.app.state.templates
    html = env.get_template("error.html").render(status=exc.status, message=exc.message)
    return HTMLResponse(html, status_code=exc.status, headers={"Cache-Control": "no-store"})
