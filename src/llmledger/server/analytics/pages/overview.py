"""The overview, ``/admin/llm-costs``: the headline figures (``/global``), cost over time by
provider (``/trends``), the provider donut and the model usage table (``/by-model``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from llmledger.analytics.breakdowns import by_model, calls_by_model
from llmledger.analytics.buckets import GroupBy
from llmledger.analytics.overview import overview
from llmledger.analytics.prices import cache_savings_for
from llmledger.analytics.trends import trends
from llmledger.analytics.window import Window
from llmledger.server.analytics.pages.common import (
    answerable,
    ledger_of,
    page_router,
    read,
    status_of,
)
from llmledger.server.providers.beside import billed_beside, billed_table
from llmledger.server.web import charts
from llmledger.server.web.errors import PageError
from llmledger.server.web.render import BASE, page
from llmledger.server.web.tables import Column, Table, sorted_by_view
from llmledger.server.web.view import View
from llmledger.server.web.viewer import ViewerDep
from llmledger.store.rows import to_us

router = page_router()


def model_table(view: View, models: list[dict[str, Any]], last_day: dict[Any, int]) -> Table:
    rows = [
        {
            **m,
            "rank": i,
            "calls24h": last_day.get((m["provider"], m["model"]), 0),
            "status": status_of(m["successRate"], m["requests"]),
        }
        for i, m in enumerate(models, 1)
    ]

    def by_model_href(r: dict[str, Any]) -> str:
        return view.url(f"{BASE}/requests", keep=False, provider=r["provider"], model=r["model"])

    columns = (
        Column("rank", "Rank", "count"),
        Column("model", "Model", href=by_model_href),
        Column("provider", "Provider"),
        Column("calls24h", "Calls (24h)", "count"),
        Column("requests", "Calls", "count"),
        Column("avgTokensPerRequest", "Avg tokens", "compact"),
        Column("costPer1kTokensUsd", "Cost per 1k tokens", "usd"),
        Column("costUsd", "Cost", "usd"),
        Column(
            "sparkline",
            "7-day trend",
            "spark",
            sortable=False,
            says=lambda r: str(r["trend"]),
        ),
        Column("status", "Status", css=lambda r: f"status-{r['status']}"),
    )
    table = Table(
        "models", "Model usage", columns, rows, view, empty="No model calls in this range."
    )
    return sorted_by_view(table, "rank", descending=False)


def provider_table(view: View, shares: list[dict[str, Any]]) -> Table:
    columns = (
        Column("provider", "Provider"),
        Column("costUsd", "Cost", "usd"),
        Column("sharePercent", "Share", "percent"),
        Column("requests", "Requests", "count"),
    )
    return Table("providers", "Cost by provider", columns, shares, view)


def trend_table(view: View, data: dict[str, Any]) -> Table:
    columns = (
        Column("bucket", "Bucket (UTC)"),
        Column("costUsd", "Cost", "usd"),
        Column("requests", "Requests", "count"),
        Column("totalTokens", "Tokens", "compact"),
    )
    return Table("trend", "Cost over time", columns, data["totals"], view)


@router.get("")
def overview_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    group: GroupBy = "hour" if view.get("groupBy") == "hour" else "day"
    if view.get("groupBy") not in (None, "day", "hour"):
        raise PageError(422, "groupBy: must be day or hour")
    ledger = ledger_of(request)
    day = Window(to_us(view.now - dt.timedelta(days=1)), to_us(view.now))
    with answerable(), ledger.engine.connect() as conn:
        totals = overview(
            conn,
            window=view.window,
            filters=filters,
            now=view.now,
            cache_savings=cache_savings_for(ledger.pricer()),
        )
        trend = trends(
            conn, window=view.window, filters=filters, group_by=group, split_by="provider"
        )
        models = by_model(conn, window=view.window, filters=filters)
        last_day = calls_by_model(conn, window=day, filters=filters)
        tracked = {p["provider"]: p["costUsd"] for p in totals["byProvider"]}
        billed = billed_beside(conn, viewer, filters, view.window, tracked)
    cost = totals["costUsd"]
    fallback_share = totals["fallbackPricedCostUsd"] * 100 / cost if cost else None
    return page(
        request,
        viewer,
        view,
        "analytics/overview.html",
        title="Overview",
        tables=[
            model_table(view, models["models"], last_day),
            provider_table(view, totals["byProvider"]),
            trend_table(view, trend),
            *(
                [billed_table(view, billed, "Spend by provider, billed beside tracked")]
                if billed
                else []
            ),
        ],
        charts=[
            charts.cost_trend(trend),
            charts.donut(
                totals["byProvider"], label="provider", chart_id="providers", title="By provider"
            ),
        ],
        api=view.api_url("/global"),
        totals=totals,
        group=group,
        fallback_share=fallback_share,
        billed=billed,
    )
