"""``/admin/llm-costs/providers/reconciliation``: tracked against billed, read through the
function ``GET /api/v1/admin/llm-costs/reconciliation`` answers with (same ``startDate``,
``endDate``, ``provider``, ``groupBy``): a chart of both by day, the rows with the flagged
ones marked with their cause, which days are imported, and the flagged rows at the grain of
a day and a model, each opening that day and model in the request log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from fastapi import Request
from fastapi.responses import Response

from llmledger.providers.reconcile import CAUSES, GROUPS, KEYS, RECONCILED, Group
from llmledger.server.analytics.pages.common import ledger_of, page_router, read
from llmledger.server.providers.days import DayError
from llmledger.server.providers.pages.common import admin_only, provider_page
from llmledger.server.providers.reconciliation import reconciliation_of
from llmledger.server.web import charts
from llmledger.server.web.errors import PageError
from llmledger.server.web.formats import usd
from llmledger.server.web.render import BASE
from llmledger.server.web.tables import Column, Row, Table
from llmledger.server.web.view import View
from llmledger.server.web.viewer import ViewerDep

TAB = ("reconciliation", "Reconciliation")
router = page_router()
GROUP_LABELS = {"day": "Day", "model": "Model", "project": "Project", "day_model": "Day and model"}
CAUSE_LABELS = {"price": "price", "untracked": "untracked", "unreported": "unreported"}
API = "/api/v1/admin/llm-costs/reconciliation"


def choice(view: View, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = view.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise PageError(422, f"{name}: must be one of {', '.join(allowed)}")
    return value


def billed_says(r: Row, key: str = "billedCostUsd") -> str:
    """A billed figure, said to be an estimate where it is one (Groq's)."""
    return usd(r[key]) + (" (estimate)" if r["billedIsEstimate"] else "")


def flag_says(r: Row) -> str:
    """The cause in a word (the page explains each above the tables), or "ok"."""
    return CAUSE_LABELS[r["cause"]] if r["flagged"] else "ok"


def flag_css(r: Row) -> str | None:
    if not r["flagged"]:
        return None
    return "status-failing" if r["cause"] == "untracked" else "status-degraded"


def _day_css(r: Row) -> str:
    return "time"  # a date stays on one line


def request_log_href(view: View, r: Row) -> str:
    """The request log of that provider, model and day."""
    return view.url(
        f"{BASE}/requests",
        keep=False,
        range=None,
        orgId=None,
        startDate=r["day"],
        endDate=r["day"],
        provider=r["provider"],
        model=r["model"] or None,
    )


def figure_columns() -> tuple[Column, ...]:
    return (
        Column("trackedCostUsd", "Tracked", "usd"),
        Column("billedCostUsd", "Billed", "usd", says=billed_says),
        Column("costDiffUsd", "Difference", "usd"),
        Column("costDiffPercent", "Difference %", "percent"),
        Column("trackedTokens", "Tracked tokens", "compact"),
        Column("reportedTokens", "Reported tokens", "compact"),
        Column("tokensDiffPercent", "Tokens difference %", "percent"),
    )


def _key_says(key: str) -> Callable[[Row], str]:
    def says(r: Row) -> str:
        return str(r[key] or ("default" if key == "project" else "no model"))

    return says


def rows_table(view: View, data: dict[str, Any]) -> Table:
    group = cast(Group, data["groupBy"])
    keys = tuple(
        Column(k, GROUP_LABELS[k], says=_key_says(k), css=_day_css if k == "day" else None)
        for k in KEYS[group]
    )
    columns = (
        Column("provider", "Provider"),
        *keys,
        *figure_columns(),
        Column(
            "otherChargesUsd",
            "Other charges",
            "usd",
            says=lambda r: billed_says(r, "otherChargesUsd"),
        ),
        Column("cause", "Flag", says=flag_says, css=flag_css),
    )
    return Table(
        "rows",
        f"Tracked against billed, by {GROUP_LABELS[group].lower()}",
        columns,
        data["rows"],
        view,
        empty="No imported day in this range: import a provider's reports to compare.",
    )


def flagged_table(view: View, data: dict[str, Any]) -> Table:
    href = lambda r: request_log_href(view, r)  # noqa: E731
    columns = (
        Column("day", "Day", href=href, css=_day_css),
        Column("provider", "Provider"),
        Column("model", "Model", href=href, says=lambda r: r["model"] or "no model"),
        Column("cause", "Cause", says=flag_says, css=flag_css),
        *figure_columns(),
    )
    return Table(
        "flagged",
        "Flagged days and models (each opens the request log of that day and model)",
        columns,
        [r for r in data["rows"] if r["flagged"]],
        view,
        empty="Nothing flagged: tracked and billed agree within the threshold.",
    )


def coverage_table(view: View, data: dict[str, Any]) -> Table:
    columns = (
        Column("provider", "Provider"),
        Column("importedDays", "Days imported", "count"),
        Column("notImportedDays", "Days not imported", "count"),
        Column(
            "notImportedDates",
            "Not imported",
            says=lambda r: (
                ", ".join(r["notImportedDates"][:10])
                + (
                    f" and {len(r['notImportedDates']) - 10} more"
                    if len(r["notImportedDates"]) > 10
                    else ""
                )
            ),
            sortable=False,
        ),
    )
    return Table("coverage", "Days a report was imported for", columns, data["coverage"], view)


def by_day_chart(data: dict[str, Any]) -> charts.Chart:
    """Tracked and billed cost per day, every provider of the view summed; a day no report
    was imported for is a gap."""
    days: dict[str, list[float]] = {}
    for r in data["rows"]:
        day = days.setdefault(r["day"], [0.0, 0.0])
        day[0] += r["trackedCostUsd"]
        day[1] += r["billedCostUsd"]
    x = sorted(days)
    tracked = [round(days[d][0], 9) for d in x]
    billed = [round(days[d][1], 9) for d in x]
    estimate = any(r["billedIsEstimate"] for r in data["rows"])
    summary = (
        f"Cost per day of the {len(x)} imported days: tracked {usd(sum(tracked))}, "
        f"billed {usd(sum(billed))}"
        + (" (Groq's billed figures are llmledger's estimates)" if estimate else "")
        + f"; {data['flaggedRows']} flagged."
    )
    chart = charts.lines(
        x,
        [("tracked", tracked), ("billed (estimate for Groq)" if estimate else "billed", billed)],
        chart_id="by-day",
        title="Tracked and billed, by day",
        summary=summary,
    )
    # where the two agree the lines lie on each other: billed dotted, tracked seen through it
    chart.figure["data"][1]["line"]["dash"] = "dot"
    chart.figure["data"][0]["line"]["width"] = 4
    return chart


def api_url(view: View, **params: str | None) -> str:
    return view.url(API, keep=False, range=None, orgId=None, **params)


@router.get("/providers/reconciliation")
def reconciliation_page(request: Request, viewer: ViewerDep) -> Response:
    admin_only(viewer)
    view, _ = read(request, viewer, fields=())
    provider = choice(view, "provider", RECONCILED, None)
    group = cast(Group, choice(view, "groupBy", GROUPS, "day"))
    ledger = ledger_of(request)

    def answer(group_by: Group) -> dict[str, Any]:
        return reconciliation_of(
            ledger.engine,
            ledger.settings,
            view.now,
            start_date=view.start,
            end_date=view.end,
            provider=provider,
            group_by=group_by,
        )

    try:
        data = answer(group)
        by_day = data if group == "day" else answer("day")
        by_day_model = data if group == "day_model" else answer("day_model")
    except DayError as exc:
        raise PageError(422, str(exc)) from None
    params = {"startDate": data["startDate"], "endDate": data["endDate"], "provider": provider}
    return provider_page(
        request,
        viewer,
        view,
        "reconciliation.html",
        title="Reconciliation",
        tables=[
            rows_table(view, data),
            flagged_table(view, by_day_model),
            coverage_table(view, data),
        ],
        charts=[by_day_chart(by_day)] if by_day["rows"] else [],
        api=api_url(view, **params, groupBy=group if group != "day" else None),
        data=data,
        by_day=by_day,
        provider=provider,
        group=group,
        providers=RECONCILED,
        groups=GROUP_LABELS,
        causes=CAUSES,
        estimated=any(r["billedIsEstimate"] for r in by_day["rows"]),
    )
