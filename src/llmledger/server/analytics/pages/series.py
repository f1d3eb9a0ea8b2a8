"""Spend over time, looked at three ways: the weekly rhythm (``/usage-pattern``: a weekday by
hour heatmap), the forecast (``/forecast``: 30 days projected with their band, and the month's
end against the monthly budget when there is one) and what-if (``/what-if``: the same usage
priced on another model)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection

from llmledger.alerts.forecast_budget import monthly_budget
from llmledger.analytics.breakdowns import by_model
from llmledger.analytics.errors import ParamError
from llmledger.analytics.filters import Filters
from llmledger.analytics.forecast import default_history, forecast
from llmledger.analytics.prices import what_if
from llmledger.analytics.trends import usage_pattern
from llmledger.analytics.window import Window, month_start
from llmledger.server.analytics.pages.breakdowns import FILTERS
from llmledger.server.analytics.pages.common import answerable, ledger_of, page_router, read
from llmledger.server.providers.beside import billed_beside, billed_table, shows_billed
from llmledger.server.web import charts
from llmledger.server.web.charts import WEEKDAYS
from llmledger.server.web.errors import PageError
from llmledger.server.web.formats import usd
from llmledger.server.web.render import page
from llmledger.server.web.tables import Column, Table
from llmledger.server.web.view import LABEL, View
from llmledger.server.web.viewer import Viewer, ViewerDep
from llmledger.store.rows import from_us, to_us

router = page_router()
MEASURES = {"costUsd": "Cost", "requests": "Requests"}


def pattern_tables(view: View, cells: list[dict[str, Any]], measure: str) -> list[Table]:
    """The heatmap's numbers (a weekday a row, an hour a column), and its sums by weekday and
    by hour of day."""
    fmt = "usd" if measure == "costUsd" else "count"
    grid: list[dict[str, Any]] = [{"weekday": day} for day in WEEKDAYS]
    for c in cells:
        grid[c["weekday"]][f"h{c['hour']:02d}"] = c[measure]
    for row in grid:
        row["total"] = sum(row[f"h{h:02d}"] for h in range(24))
    hours = [Column(f"h{h:02d}", f"{h:02d}", fmt) for h in range(24)]
    heat = Table(
        "pattern",
        f"{MEASURES[measure]} by weekday and hour (UTC)",
        (Column("weekday", "Weekday"), *hours, Column("total", "All day", fmt)),
        grid,
        view,
    )
    sums = (Column("costUsd", "Cost", "usd"), Column("requests", "Requests", "count"))
    by_day = [
        {
            "weekday": day,
            "costUsd": round(sum(c["costUsd"] for c in cells if c["weekday"] == w), 9),
            "requests": sum(c["requests"] for c in cells if c["weekday"] == w),
        }
        for w, day in enumerate(WEEKDAYS)
    ]
    by_hour = [
        {
            "hour": f"{h:02d}:00",
            "costUsd": round(sum(c["costUsd"] for c in cells if c["hour"] == h), 9),
            "requests": sum(c["requests"] for c in cells if c["hour"] == h),
        }
        for h in range(24)
    ]
    return [
        heat,
        Table("weekdays", "By weekday", (Column("weekday", "Weekday"), *sums), by_day, view),
        Table("hours", "By hour of day (UTC)", (Column("hour", "Hour"), *sums), by_hour, view),
    ]


@router.get("/usage-pattern")
def usage_pattern_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    measure = view.get("measure") or "costUsd"
    if measure not in MEASURES:
        raise PageError(422, "measure: must be costUsd or requests")
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = usage_pattern(conn, window=view.window, filters=filters)
    return page(
        request,
        viewer,
        view,
        "analytics/pattern.html",
        title="Usage pattern",
        tables=pattern_tables(view, data["cells"], measure),
        charts=[charts.heatmap(data["cells"], value=measure)],
        api=view.api_url("/usage-pattern"),
        data=data,
        measure=measure,
        measures=MEASURES,
        filter_fields=FILTERS,
    )


def _history_given(view: View) -> bool:
    return any(view.get(name) for name in ("range", "startDate", "endDate"))


def _horizon(view: View) -> int:
    text = view.get("horizonDays") or "30"
    if not text.isdigit() or not 1 <= int(text) <= 366:
        raise PageError(422, "horizonDays: must be a whole number from 1 to 366")
    return int(text)


def budget_usd(data: dict[str, Any]) -> float | None:
    """The monthly budget ``/forecast`` answers with, in dollars, or ``None`` (no budget).

    This is the page's one hook for budgets: they belong to the alerts, and ``/forecast``
    carries the month's budget of its scope in ``budget`` (``alerts.forecast_budget``: the
    active monthly rule of that scope) — an object with ``amountUsd``, or a number of dollars;
    ``null`` when no rule has that scope, and the page shows the projection alone."""
    budget = data.get("budget")
    if budget is None:
        return None
    if isinstance(budget, dict):
        budget = budget.get("amountUsd")
    return None if budget is None else float(budget)


def against_budget(data: dict[str, Any]) -> dict[str, Any] | None:
    """The projected month end against the monthly budget: the share of it, what is left
    (negative: the overrun), and whether even the low end of the band overruns it."""
    budget = budget_usd(data)
    if budget is None:
        return None
    end, low = data["projectedMonthEndUsd"], data["projectedMonthEndLowUsd"]
    rule = data["budget"] if isinstance(data["budget"], dict) else {}
    return {
        "ruleId": rule.get("ruleId"),
        "ruleName": rule.get("ruleName"),
        "budgetUsd": budget,
        "percentOfBudget": round(end * 100 / budget, 1) if budget else None,
        "leftUsd": round(budget - end, 9),
        "overrun": end > budget,
        "surelyOverrun": low > budget,
    }


def _history_view(view: View, history: Window) -> View:
    """The view as the page shows it when the URL gives no history: the forecast's own default
    (the last complete weeks), so the range picker says what was used."""
    start = from_us(history.start_us).date().isoformat()
    end = (from_us(history.end_us) - dt.timedelta(days=1)).date().isoformat()
    return replace(view, range="history", start=start, end=end, window=history)


def _month_billed(
    conn: Connection, viewer: Viewer, filters: Filters, view: View
) -> list[dict[str, Any]] | None:
    """The month to date, billed beside tracked by provider (admins, an unnarrowed view)."""
    month = Window(to_us(month_start(view.now)), to_us(view.now))
    if not shows_billed(viewer, filters):
        return None
    spent = by_model(conn, window=month, filters=filters)["models"]
    tracked: dict[str, float] = {}
    for m in spent:
        tracked[m["provider"]] = tracked.get(m["provider"], 0.0) + m["costUsd"]
    return billed_beside(conn, viewer, filters, month, tracked)


@router.get("/forecast")
def forecast_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    horizon = _horizon(view)
    given = _history_given(view)
    history = view.window if given else default_history(view.now)
    with answerable(), ledger_of(request).engine.connect() as conn:
        data = forecast(conn, history=history, filters=filters, now=view.now, horizon_days=horizon)
        data["budget"] = monthly_budget(conn, filters)
        billed = _month_billed(conn, viewer, filters, view)
    if not given:
        view = _history_view(view, history)
    past, ahead = data["history"], data["days"]
    x = [d["date"] for d in past] + [d["date"] for d in ahead]
    spent: list[float | None] = [d["costUsd"] for d in past] + [None] * len(ahead)
    # the projection starts from the last day spent, so the two lines meet
    joined: list[float | None] = [None] * len(past) + [d["costUsd"] for d in ahead]
    if past:
        joined[len(past) - 1] = past[-1]["costUsd"]
    pad = [None] * len(past)
    chart = charts.lines(
        x,
        [("spent", spent), ("projected", joined)],
        chart_id="forecast",
        title="Daily cost, spent and projected",
        summary=(
            f"Daily cost over {len(past)} days of history and {len(ahead)} projected days: "
            f"{usd(sum(d['costUsd'] for d in ahead))} projected in all; the month is projected "
            f"to end at {usd(data['projectedMonthEndUsd'])}, likely between "
            f"{usd(data['projectedMonthEndLowUsd'])} and {usd(data['projectedMonthEndHighUsd'])}."
        ),
        band=(x, pad + [d["lowUsd"] for d in ahead], pad + [d["highUsd"] for d in ahead]),
    )
    projected = Table(
        "projection",
        f"The next {len(ahead)} days, projected",
        (
            Column("date", "Date"),
            Column("costUsd", "Projected", "usd"),
            Column("lowUsd", "Low", "usd"),
            Column("highUsd", "High", "usd"),
        ),
        ahead,
        view,
    )
    spent_table = Table(
        "history",
        "The history it is fitted to",
        (Column("date", "Date"), Column("costUsd", "Cost", "usd")),
        past,
        view,
        empty="No complete day in this range: pick a range that ends before today.",
    )
    api_dates = {} if given else {"startDate": None, "endDate": None}
    return page(
        request,
        viewer,
        view,
        "analytics/forecast.html",
        title="Forecast",
        tables=[
            projected,
            spent_table,
            *(
                [billed_table(view, billed, "Month to date, billed beside tracked")]
                if billed
                else []
            ),
        ],
        charts=[chart],
        api=view.api_url("/forecast", horizonDays=view.get("horizonDays"), **api_dates),
        data=data,
        budget=against_budget(data),
        billed=billed,
        given=given,
        filter_fields=FILTERS,
    )


def _target(view: View, name: str) -> str | None:
    value = view.get(name)
    if value is not None and (len(value) > LABEL or "\x00" in value):
        raise PageError(422, f"{name}: at most {LABEL} characters, no NUL")
    return value.strip() if value else None


def _choices(request: Request, provider: str | None) -> tuple[list[str], list[str]]:
    """The providers of the price book, and the models the model box suggests: the chosen
    provider's (the whole catalog would be thousands)."""
    rows = [r for r in ledger_of(request).pricer().book.rows if r.provider != "*"]
    providers = sorted({r.provider for r in rows})
    wanted = provider.lower() if provider else None
    models = sorted({r.model for r in rows if r.provider == wanted}) if wanted else []
    return providers, models


@router.get("/what-if")
def what_if_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer)
    as_model, as_provider = _target(view, "asModel"), _target(view, "asProvider")
    ledger = ledger_of(request)
    data = refused = None
    with answerable(), ledger.engine.connect() as conn:
        used = by_model(conn, window=view.window, filters=Filters(org_id=filters.org_id))
        if as_model:
            try:
                data = what_if(
                    conn,
                    window=view.window,
                    filters=filters,
                    pricer=ledger.pricer(),
                    as_model=as_model,
                    as_provider=as_provider,
                )
            except ParamError as exc:
                refused = str(exc)
    providers, models = _choices(request, as_provider)
    tables, shown = [], []
    if data is not None:
        days = data["days"]
        tables.append(
            Table(
                "days",
                "By day",
                (
                    Column("date", "Date"),
                    Column("actualCostUsd", "Cost", "usd"),
                    Column("asModelCostUsd", f"On {data['asModel']}", "usd"),
                ),
                days,
                view,
                empty="No usage in this range.",
            )
        )
        shown.append(
            charts.lines(
                [d["date"] for d in days],
                [
                    ("cost", [d["actualCostUsd"] for d in days]),
                    (f"on {data['asModel']}", [d["asModelCostUsd"] for d in days]),
                ],
                chart_id="what-if",
                title="Daily cost, as it was and on " + data["asModel"],
                summary=(
                    f"The range's usage cost {usd(data['actualCostUsd'])}; on "
                    f"{data['asModel']} ({data['asProvider']}) it would have cost "
                    f"{usd(data['asModelCostUsd'])}."
                ),
            )
        )
    response = page(
        request,
        viewer,
        view,
        "analytics/what_if.html",
        title="What-if",
        tables=tables,
        charts=shown,
        api=view.api_url("/what-if", asModel=as_model, asProvider=as_provider)
        if as_model
        else None,
        data=data,
        refused=refused,
        used=used["models"],
        providers=providers,
        models=models,
        filter_fields=FILTERS,
    )
    if refused is not None:
        response.status_code = 422
    return response
