"""Spend broken down: agents (``/by-agent``, each with its models), models (``/by-model``: the
comparison of unit costs, latency and success; and the models priced by the fallback, as
``/api/v1/admin/pricing/unpriced`` lists them), users (``/by-user``) and operations
(``/by-operation``). Each page is a chart, the table of its numbers (CSV with the same filters)
and links from every row to the requests behind it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from llmledger.analytics.breakdowns import by_agent, by_model, by_operation, by_user
from llmledger.pricing.traffic import unpriced
from llmledger.server.analytics.pages.common import (
    answerable,
    ledger_of,
    org_href,
    page_router,
    read,
    status_of,
)
from llmledger.server.web import charts
from llmledger.server.web.errors import PageError
from llmledger.server.web.formats import usd
from llmledger.server.web.render import BASE, page
from llmledger.server.web.tables import Column, Table, sorted_by_view
from llmledger.server.web.view import View
from llmledger.server.web.viewer import Viewer, ViewerDep

router = page_router()
#: the filter boxes of these pages (the URL's parameters, as the API names them)
FILTERS = ("provider", "model", "agent", "userId", "operation", "success")
USER_LIMITS = (10, 50, 100, 500)


def requests_href(view: View, **narrow: str | None) -> str | None:
    """The request log of the same range and scope, narrowed to one row's values; none for a
    row of events sent without the value (no filter can ask for a missing one)."""
    if any(v is None for v in narrow.values()):
        return None
    return view.url(f"{BASE}/requests", keep=False, **narrow)


def _without_org(viewer: Viewer, columns: list[Column]) -> list[Column]:
    """Scoped people see their own organisation only: no column names one."""
    return columns if viewer.is_admin else [c for c in columns if c.key != "orgId"]


def _top_models(agent: dict[str, Any], shown: int = 3) -> str:
    models = agent["models"]
    text = ", ".join(f"{m['model']} ({usd(m['costUsd'])})" for m in models[:shown])
    return text + (f", {len(models) - shown} more" if len(models) > shown else "")


@router.get("/agents")
def agents_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = by_agent(conn, window=view.window, filters=filters)
    agents = Table(
        "agents",
        "Cost per agent",
        (
            Column("agent", "Agent", href=lambda r: requests_href(view, agent=r["agent"])),
            Column("costUsd", "Cost", "usd"),
            Column("sharePercent", "Share", "percent"),
            Column("requests", "Requests", "count"),
            Column("totalTokens", "Tokens", "compact"),
            Column("successRate", "Success", "ratio"),
            Column(
                "models",
                "Models",
                value=lambda r: "; ".join(f"{m['provider']}/{m['model']}" for m in r["models"]),
                says=_top_models,
                sortable=False,
            ),
        ),
        data["agents"],
        view,
        empty="No agent spent anything in this range.",
    )
    pairs = [
        {
            "agent": a["agent"],
            **m,
            "shareOfAgentPercent": round(m["costNanos"] * 100 / a["costNanos"], 2)
            if a["costNanos"]
            else 0.0,
        }
        for a in data["agents"]
        for m in a["models"]
    ]
    models = Table(
        "agent-models",
        "Each agent's models",
        (
            Column("agent", "Agent"),
            Column(
                "model",
                "Model",
                href=lambda r: requests_href(
                    view, agent=r["agent"], provider=r["provider"], model=r["model"]
                ),
            ),
            Column("provider", "Provider"),
            Column("costUsd", "Cost", "usd"),
            Column("shareOfAgentPercent", "Share of the agent", "percent"),
            Column("requests", "Requests", "count"),
        ),
        pairs,
        view,
        empty="No agent spent anything in this range.",
    )
    chart = charts.bars(
        [{**a, "agent": a["agent"] or "no agent"} for a in data["agents"]],
        label="agent",
        chart_id="agents",
        title="Cost per agent",
    )
    return page(
        request,
        viewer,
        view,
        "analytics/breakdown.html",
        title="Agents",
        tables=[sorted_by_view(agents, "costUsd"), models],
        charts=[chart],
        api=view.api_url("/by-agent"),
        data=data,
        main="agents",
        filter_fields=FILTERS,
    )


def _labels(models: list[dict[str, Any]]) -> list[str]:
    """A model's name, and its provider too where two providers sell one name."""
    seen: dict[str, int] = {}
    for m in models:
        seen[m["model"]] = seen.get(m["model"], 0) + 1
    return [
        m["model"] if seen[m["model"]] == 1 else f"{m['model']} ({m['provider']})" for m in models
    ]


@router.get("/models")
def models_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    ledger = ledger_of(request)
    with answerable(), ledger.engine.connect() as conn:
        data = by_model(conn, window=view.window, filters=filters)
        fallback = unpriced(
            conn,
            ledger.pricer().book,
            org_id=filters.org_id,
            start_us=view.window.start_us,
            end_us=view.window.end_us,
            limit=100,
        )
    rows = [
        {**m, "status": status_of(m["successRate"], m["requests"]), "label": label}
        for m, label in zip(data["models"], _labels(data["models"]), strict=True)
    ]
    comparison = Table(
        "models",
        "Models compared",
        (
            Column(
                "model",
                "Model",
                href=lambda r: requests_href(view, provider=r["provider"], model=r["model"]),
            ),
            Column("provider", "Provider"),
            Column("requests", "Calls", "count"),
            Column("avgCostPerRequestUsd", "Avg cost per call", "usd"),
            Column("costPer1kTokensUsd", "Cost per 1k tokens", "usd"),
            Column("avgTokensPerRequest", "Avg tokens", "compact"),
            Column("avgLatencyMs", "Avg latency", "ms"),
            Column("successRate", "Success", "ratio"),
            Column("costUsd", "Cost", "usd"),
            Column("sharePercent", "Share", "percent"),
            Column("status", "Status", css=lambda r: f"status-{r['status']}"),
        ),
        rows,
        view,
        empty="No model was called in this range.",
    )
    unpriced_table = Table(
        "unpriced",
        "Models priced with the fallback",
        (
            Column("model", "Model"),
            Column("provider", "Provider"),
            Column("requests", "Requests", "count"),
            Column("spendUsd", "Fallback-priced spend", "usd"),
            Column("firstSeen", "First seen", "day"),
            Column("lastSeen", "Last seen", "day"),
            Column(
                "pricedNow",
                "Priced now",
                says=lambda r: "yes" if r["pricedNow"] else "no: add a price",
            ),
        ),
        fallback["models"],
        view,
        empty="Every model of this range had a known price.",
    )
    by_unit = sorted(
        (r for r in rows if r["costPer1kTokensUsd"] is not None),
        key=lambda r: -r["costPer1kTokensUsd"],
    )
    dearest = (
        f"{by_unit[0]['label']} at {usd(by_unit[0]['costPer1kTokensUsd'])}" if by_unit else "none"
    )
    unit_chart = charts.bars(
        by_unit,
        label="label",
        value="costPer1kTokensUsd",
        chart_id="unit-cost",
        title="Cost per 1k tokens",
        summary=f"What 1,000 tokens cost on each model; the dearest: {dearest}.",
        hover="$,.4r",
    )
    share = charts.donut(
        charts.with_rest(rows, label="label"),
        label="label",
        chart_id="model-share",
        title="Share of cost",
    )
    return page(
        request,
        viewer,
        view,
        "analytics/models.html",
        title="Models",
        tables=[sorted_by_view(comparison, "costUsd"), unpriced_table],
        charts=[unit_chart, share],
        api=view.api_url("/by-model"),
        data=data,
        fallback=fallback,
        filter_fields=FILTERS,
    )


def _limit(view: View) -> int:
    text = view.get("limit") or "50"
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise PageError(422, "limit: must be a whole number from 1 to 1000")
    return int(text)


@router.get("/users")
def users_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    limit = _limit(view)
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = by_user(conn, window=view.window, filters=filters, limit=limit)

    def user_href(r: dict[str, Any]) -> str:
        return view.url(f"{BASE}/requests", keep=False, userId=r["userId"], orgId=r["orgId"])

    columns = _without_org(
        viewer,
        [
            Column("userId", "User", href=user_href),
            Column("orgId", "Organisation", href=lambda r: org_href(view, r["orgId"])),
            Column("costUsd", "Cost", "usd"),
            Column("sharePercent", "Share", "percent"),
            Column("requests", "Requests", "count"),
            Column("totalTokens", "Tokens", "compact"),
            Column("avgCostPerRequestUsd", "Avg cost per request", "usd"),
        ],
    )
    table = Table(
        "users",
        f"The top {limit} users by cost",
        columns,
        data["users"],
        view,
        empty="No user spent anything in this range.",
    )
    top = data["users"][0] if data["users"] else None
    chart = charts.bars(
        data["users"],
        label="userId",
        chart_id="users",
        title="Top users",
        summary="Cost per user; the largest: "
        + (f"{top['userId']} with {usd(top['costUsd'])}." if top else "none."),
    )
    return page(
        request,
        viewer,
        view,
        "analytics/breakdown.html",
        title="Users",
        tables=[sorted_by_view(table, "costUsd")],
        charts=[chart],
        api=view.api_url("/by-user", limit=limit),
        data=data,
        main="users",
        filter_fields=FILTERS,
        limits=USER_LIMITS,
        limit=limit,
    )


@router.get("/operations")
def operations_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = by_operation(conn, window=view.window, filters=filters)
    table = Table(
        "operations",
        "Cost per operation",
        (
            Column(
                "operation",
                "Operation",
                href=lambda r: requests_href(view, operation=r["operation"]),
            ),
            Column("costUsd", "Cost", "usd"),
            Column("sharePercent", "Share", "percent"),
            Column("requests", "Requests", "count"),
            Column("totalTokens", "Tokens", "compact"),
            Column("avgCostPerRequestUsd", "Avg cost per request", "usd"),
            Column("successRate", "Success", "ratio"),
        ),
        data["operations"],
        view,
        empty="No operation spent anything in this range.",
    )
    named = [{**o, "operation": o["operation"] or "no operation"} for o in data["operations"]]
    share = charts.donut(
        charts.with_rest(named, label="operation"),
        label="operation",
        chart_id="operations",
        title="Share of cost",
    )
    dearest = sorted(
        (o for o in named if o["avgCostPerRequestUsd"] is not None),
        key=lambda o: -o["avgCostPerRequestUsd"],
    )
    top = dearest[0] if dearest else None
    unit = charts.bars(
        dearest,
        label="operation",
        value="avgCostPerRequestUsd",
        chart_id="operation-unit-cost",
        title="Average cost per request",
        summary="What one request of each operation costs on average; the dearest: "
        + (f"{top['operation']} at {usd(top['avgCostPerRequestUsd'])}." if top else "none."),
        hover="$,.4r",
    )
    return page(
        request,
        viewer,
        view,
        "analytics/breakdown.html",
        title="Operations",
        tables=[sorted_by_view(table, "costUsd")],
        charts=[share, unit],
        api=view.api_url("/by-operation"),
        data=data,
        main="operations",
        filter_fields=FILTERS,
    )
