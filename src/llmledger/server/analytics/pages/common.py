"""What every analytics page starts from: its view (range, scope, filters) and the ledger.

The figures come from the same ``llmledger.analytics`` functions the JSON endpoints call, with
the same arguments; a page adds only presentation (tables, charts, links).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request

from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters
from llmledger.ledger import Ledger
from llmledger.server.web.errors import PageError
from llmledger.server.web.render import BASE
from llmledger.server.web.view import FILTER_PARAMS, View, read_filters, read_view
from llmledger.server.web.viewer import Viewer
from llmledger.store.retention import retention_cutoff_us
from llmledger.store.rows import to_us


def page_router() -> APIRouter:
    """Pages are not part of the API description (``/openapi.json`` describes the API)."""
    return APIRouter(prefix=BASE, include_in_schema=False)


def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def now_of(request: Request) -> dt.datetime:
    moment: dt.datetime = request.app.state.clock()
    return moment


def read(
    request: Request, viewer: Viewer, *, fields: tuple[str, ...] = FILTER_PARAMS
) -> tuple[View, Filters]:
    """The page's view and its filters, scoped to what the viewer may see."""
    now = now_of(request)
    cutoff = retention_cutoff_us(to_us(now), request.app.state.settings.retention_days)
    view = read_view(request.url.path, request.query_params, now, raw_from_us=cutoff)
    org = view.get("orgId") if "orgId" in fields else None
    return view, read_filters(view, viewer.scope(org), fields=fields)


@contextmanager
def answerable() -> Iterator[None]:
    """A question the analytics layer refuses (e.g. too many buckets) is a 422 page."""
    try:
        yield
    except ParamError as exc:
        raise PageError(422, str(exc)) from None


def q(value: Any) -> str:
    """A path segment (an id may hold any character)."""
    return quote(str(value), safe="")


def org_href(view: View, org_id: str | None) -> str | None:
    return view.url(f"{BASE}/orgs/{q(org_id)}", keep=False) if org_id else None


def request_href(view: View, row: dict[str, Any]) -> str:
    return view.url(f"{BASE}/requests/{q(row['eventId'])}", keep=False)


def session_href(view: View, row: dict[str, Any]) -> str | None:
    if not row.get("sessionId"):
        return None
    path = f"{BASE}/sessions/{q(row['sessionId'])}"
    return view.url(path, keep=False, orgId=row.get("orgId") or None)


def status_of(success_rate: float | None, requests: int = 1) -> str:
    """A model's health from its success rate: ok (≥ 99%), degraded (≥ 95%), failing."""
    if success_rate is None or not requests:
        return "idle"
    if success_rate >= 0.99:
        return "ok"
    return "degraded" if success_rate >= 0.95 else "failing"
