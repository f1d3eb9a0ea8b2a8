"""``/admin/llm-costs/providers/billing``: what the providers billed, by project (or
workspace) or line item, per day, week, month or year, read through the function
``GET /api/v1/admin/llm-costs/billing`` answers with (same parameters)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from fastapi import Request
from fastapi.responses import Response

from llmledger.providers.billing import (
    BILLING_GROUPS,
    GRANULARITIES,
    KEY_FIELD,
    BillingGroup,
    Granularity,
)
from llmledger.providers.reconcile import RECONCILED
from llmledger.server.analytics.pages.common import ledger_of, page_router, read
from llmledger.server.providers.billing import billing_of
from llmledger.server.providers.days import DayError
from llmledger.server.providers.pages.common import admin_only, provider_page
from llmledger.server.providers.pages.reconciliation import choice
from llmledger.server.web import charts
from llmledger.server.web.errors import PageError
from llmledger.server.web.formats import usd
from llmledger.server.web.tables import Column, Row, Table
from llmledger.server.web.view import View
from llmledger.server.web.viewer import ViewerDep

TAB = ("billing", "Billing")
router = page_router()
GROUP_LABELS = {"project": "Project or workspace", "line_item": "Line item"}
GRANULARITY_LABELS = {"day": "Daily", "week": "Weekly", "month": "Monthly", "year": "Yearly"}
API = "/api/v1/admin/llm-costs/billing"


def _cost_says(r: Row) -> str:
    return usd(r["costUsd"]) + (" (estimate)" if r["billedIsEstimate"] else "")


def _key_says(field: str) -> Any:
    def says(r: Row) -> str:
        return str(r[field] or ("default" if field == "project" else "none"))

    return says


def _label(r: Row, field: str) -> str:
    return f"{r['provider']} · {r[field] or 'default'}"


def chart_of(data: dict[str, Any]) -> charts.Chart:
    """Billed per period, stacked by the largest projects or line items (the rest summed)."""
    field = KEY_FIELD[data["groupBy"]]
    labels = [p["period"] for p in data["periods"]]
    at = {label: i for i, label in enumerate(labels)}
    series: dict[str, list[float]] = {}
    for k in data["keys"]:
        series[_label(k, field)] = [0.0] * len(labels)
    for r in data["rows"]:
        series[_label(r, field)][at[r["period"]]] += r["costUsd"]
    shaped = {
        "groupBy": "day",
        "buckets": labels,
        "series": [
            {
                "key": _label(k, field) + (" (estimate)" if k["billedIsEstimate"] else ""),
                "costUsd": k["costUsd"],
                "points": [{"costUsd": round(v, 9)} for v in series[_label(k, field)]],
            }
            for k in data["keys"]
        ],
        "totals": [{"bucket": p["period"], "costUsd": p["costUsd"]} for p in data["periods"]],
    }
    chart = charts.cost_trend(shaped, chart_id="billed")
    unit = data["granularity"]
    peak = max(data["periods"], key=lambda p: p["costUsd"], default=None)
    summary = f"Billed per {unit}, {usd(data['costUsd'])} in all"
    if peak is not None and peak["costUsd"] > 0:
        summary += f"; the highest {unit} was {peak['period']} at {usd(peak['costUsd'])}"
    if data["keys"]:
        summary += (
            f"; largest: {_label(data['keys'][0], field)} ({usd(data['keys'][0]['costUsd'])})"
        )
    if any(t["billedIsEstimate"] and t["costUsd"] for t in data["totals"]):
        summary += "; Groq's figures are llmledger's estimates"
    return replace(chart, title="Billed over time", summary=summary + ".")


def tables_of(view: View, data: dict[str, Any]) -> list[Table]:
    group = cast(BillingGroup, data["groupBy"])
    field = KEY_FIELD[group]
    key = Column(field, GROUP_LABELS[group], says=_key_says(field))
    cost = Column("costUsd", "Billed", "usd", says=_cost_says)
    estimate = Column(
        "billedIsEstimate",
        "Billed figure",
        says=lambda r: "an estimate" if r["billedIsEstimate"] else "the provider's",
    )
    unit = GRANULARITY_LABELS[data["granularity"]].lower()
    return [
        Table(
            "providers",
            "Billed by provider",
            (
                Column("provider", "Provider"),
                cost,
                estimate,
                Column("importedDays", "Days imported", "count"),
                Column("notImportedDays", "Days not imported", "count"),
            ),
            data["totals"],
            view,
        ),
        Table(
            "keys",
            f"Billed by {GROUP_LABELS[group].lower()}, the whole range",
            (Column("provider", "Provider"), key, cost, estimate),
            data["keys"],
            view,
            empty="Nothing billed in this range (or no report imported for it).",
        ),
        Table(
            "periods",
            f"Billed {unit}",
            (
                Column("period", "Period"),
                Column("startDate", "From"),
                Column("endDate", "To"),
                Column("costUsd", "Billed", "usd"),
            ),
            data["periods"],
            view,
        ),
        Table(
            "rows",
            f"Billed {unit}, by {GROUP_LABELS[group].lower()}",
            (Column("period", "Period"), Column("provider", "Provider"), key, cost, estimate),
            data["rows"],
            view,
            empty="Nothing billed in this range (or no report imported for it).",
        ),
    ]


@router.get("/providers/billing")
def billing_page(request: Request, viewer: ViewerDep) -> Response:
    admin_only(viewer)
    view, _ = read(request, viewer, fields=())
    provider = choice(view, "provider", RECONCILED, None)
    group = cast(BillingGroup, choice(view, "groupBy", BILLING_GROUPS, "project"))
    granularity = cast(Granularity, choice(view, "granularity", GRANULARITIES, "day"))
    try:
        data = billing_of(
            ledger_of(request).engine,
            view.now,
            start_date=view.start,
            end_date=view.end,
            provider=provider,
            group_by=group,
            granularity=granularity,
        )
    except DayError as exc:
        raise PageError(422, str(exc)) from None
    api = view.url(
        API,
        keep=False,
        range=None,
        orgId=None,
        startDate=data["startDate"],
        endDate=data["endDate"],
        provider=provider,
        groupBy=None if group == "project" else group,
        granularity=None if granularity == "day" else granularity,
    )
    return provider_page(
        request,
        viewer,
        view,
        "billing.html",
        title="Billing",
        tables=tables_of(view, data),
        charts=[chart_of(data)] if data["periods"] else [],
        api=api,
        data=data,
        providers=RECONCILED,
        group=group,
        groups=GROUP_LABELS,
        granularity=granularity,
        granularities=GRANULARITY_LABELS,
        estimated=any(t["billedIsEstimate"] and t["costUsd"] for t in data["totals"]),
    )
