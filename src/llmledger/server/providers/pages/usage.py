"""The usage explorer, ``/admin/llm-costs/providers/usage``: what the providers report beside
tokens — images, audio seconds and characters, vector-store bytes, code-interpreter sessions,
moderation calls — by day, project and model, from the function behind
``GET /api/v1/admin/llm-costs/provider-usage``."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response

from llmledger.providers.imports import PROVIDERS
from llmledger.providers.openai_metrics import METRICS
from llmledger.providers.usage_metrics import GROUPS, metric_of, usage_metrics
from llmledger.server.analytics.pages.common import ledger_of, page_router, read
from llmledger.server.providers.pages.common import PAGE, admin_only, provider_page
from llmledger.server.providers.usage import check_metric, days
from llmledger.server.web.charts import counts_by_day
from llmledger.server.web.errors import PageError
from llmledger.server.web.tables import Column, Table, sorted_by_view
from llmledger.server.web.view import View
from llmledger.server.web.viewer import ViewerDep

TAB = ("usage", "Usage")
router = page_router()
DAY_S = 86400
CAPTIONS = {"day": "By day", "project": "By project", "model": "By model"}


def _totals_table(view: View, data: dict[str, Any]) -> Table:
    def pick(r: dict[str, Any]) -> str:
        return view.url(metric=r["metric"], sort=None, order=None)

    columns = [
        Column("label", "Metric", href=pick),
        Column("value", "In the range", "count", says=lambda r: f"{r['value']:,} {r['unit']}"),
    ]
    if len({t["provider"] for t in data["totals"]}) > 1:  # a phone has room for few columns
        columns.append(Column("provider", "Provider"))
    return Table(
        "totals",
        "Every metric",
        columns,
        data["totals"],
        view,
        empty="No usage beside tokens was reported in this range.",
    )


def _group_table(view: View, group: str, data: dict[str, Any], unit: str) -> Table:
    key = Column(
        group,
        CAPTIONS[group].removeprefix("By ").capitalize(),
        "day" if group == "day" else "text",
        says=None if group == "day" else lambda r: r[group] or f"(no {group})",
    )
    columns = (key, Column("provider", "Provider"), Column("value", unit.capitalize(), "count"))
    table = Table(
        group,
        CAPTIONS[group],
        columns,
        data["rows"],
        view,
        empty="Nothing reported for this metric in this range.",
    )
    if group == "day":
        return table
    return sorted_by_view(table, "value") if view.get("sort") else table


def _chosen(view: View, totals: list[dict[str, Any]]) -> str:
    try:
        wanted = check_metric(view.get("metric"))
    except HTTPException as exc:
        raise PageError(422, str(exc.detail)) from None
    if wanted is not None:
        return wanted
    reported = [t["metric"] for t in totals if t["value"]]
    return reported[0] if reported else METRICS[0].name


@router.get("/providers/usage")
def usage_page(request: Request, viewer: ViewerDep) -> Response:
    admin_only(viewer)
    view, _ = read(request, viewer, fields=())
    provider = view.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise PageError(422, f"provider: must be one of {', '.join(PROVIDERS)}")
    try:
        start, end = days(
            view.start, view.end and view.end[:10], view.now.astimezone(dt.UTC).date()
        )
    except HTTPException as exc:
        raise PageError(422, str(exc.detail)) from None
    with ledger_of(request).engine.connect() as conn:
        read_range = partial(usage_metrics, conn, start_day=start, end_day=end, provider=provider)
        every = read_range()
        metric = _chosen(view, every["totals"])
        data = {g: read_range(group_by=g, metric=metric) for g in GROUPS}
    chosen = metric_of(metric)
    per_day: dict[str, int] = {}
    for r in data["day"]["rows"]:
        per_day[r["day"]] = per_day.get(r["day"], 0) + r["value"]
    labels = [
        dt.datetime.fromtimestamp(d, dt.UTC).date().isoformat() for d in range(start, end, DAY_S)
    ]
    chart = counts_by_day(
        labels,
        [per_day.get(d, 0) for d in labels],
        chart_id="metric",
        title=chosen.label,
        unit=chosen.unit,
    )
    tables = [
        _totals_table(view, every),
        *(_group_table(view, g, data[g], chosen.unit) for g in GROUPS),
    ]
    api = view.api_url(
        "/provider-usage",
        startDate=every["startDate"],
        endDate=every["endDate"],
        metric=metric,
    )
    return provider_page(
        request,
        viewer,
        view,
        "usage.html",
        title="Provider usage",
        tables=tables,
        charts=[chart],
        api=api,
        data=every,
        metric=chosen,
        metrics=METRICS,
        providers=PROVIDERS,
        provider=provider,
        page_path=f"{PAGE}/usage",
    )
