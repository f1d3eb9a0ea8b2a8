"""Usage pattern, forecast and what-if: each page's figures are its endpoint's for the same
parameters."""

from __future__ import annotations

import re

import pytest

from llmledger.server.analytics.pages.series import against_budget, budget_usd
from llmledger.server.web.formats import usd
from tests.analytics.conftest import DataSet
from tests.web.page import Page, get_api, get_page
from tests.web.test_breakdown_pages import CASES, floats

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def kpi(shown: Page, name: str) -> str:
    m = re.search(
        rf'data-kpi="{name}">\s*<div class="kpi-label">[^<]*</div>\s*'
        r'<div class="kpi-value">(?:<a [^>]*>)?([^<]*)<',
        shown.html,
    )
    assert m, f"no KPI {name}"
    return m.group(1).strip()


@pytest.mark.parametrize(("page", "query"), CASES)
def test_usage_pattern_is_the_endpoints(
    data: DataSet, page: dict[str, str], query: dict[str, str]
) -> None:
    shown = get_page(data, "/usage-pattern", **page)
    cells = get_api(data, "/usage-pattern", **query)["cells"]
    grid = shown.tables["pattern"]
    assert grid.column("Weekday") == WEEKDAYS
    for c in cells:
        assert float(grid.rows[c["weekday"]][1 + c["hour"]].value or 0) == c["costUsd"]
    # the heatmap draws the same 7 x 24 numbers
    z = shown.charts["pattern"]["data"][0]["z"]
    assert [z[c["weekday"]][c["hour"]] for c in cells] == [c["costUsd"] for c in cells]
    by_day = floats(shown.tables["weekdays"].column("Requests"))
    assert by_day == [sum(c["requests"] for c in cells if c["weekday"] == w) for w in range(7)]
    hours = floats(shown.tables["hours"].column("Cost"))
    expected = [sum(c["costUsd"] for c in cells if c["hour"] == h) for h in range(24)]
    assert hours == pytest.approx(expected, abs=1e-9)


def test_usage_pattern_can_count_requests(data: DataSet) -> None:
    shown = get_page(data, "/usage-pattern", measure="requests")
    cells = get_api(data, "/usage-pattern", startDate="2026-11-01")["cells"]
    z = shown.charts["pattern"]["data"][0]["z"]
    assert [z[c["weekday"]][c["hour"]] for c in cells] == [c["requests"] for c in cells]
    r = data.client.get("/admin/llm-costs/usage-pattern?measure=tokens", headers=data.admin)
    assert r.status_code == 422 and "measure" in r.text


@pytest.mark.parametrize(
    ("page", "query"),
    [
        ({}, {}),  # the forecast's own history: the last 8 complete weeks
        ({"horizonDays": "7", "provider": "openai"}, {"horizonDays": "7", "provider": "openai"}),
        (
            {"startDate": "2026-10-12", "endDate": "2026-11-15", "orgId": "acme"},
            {"startDate": "2026-10-12", "endDate": "2026-11-15", "orgId": "acme"},
        ),
        ({"range": "30d"}, {"startDate": "2026-10-22"}),
    ],
)
def test_forecast_is_the_endpoints(
    data: DataSet, page: dict[str, str], query: dict[str, str]
) -> None:
    shown = get_page(data, "/forecast", **page)
    answer = get_api(data, "/forecast", **query)
    projection = shown.tables["projection"]
    assert projection.column("Date") == [d["date"] for d in answer["days"]]
    for header, key in (("Projected", "costUsd"), ("Low", "lowUsd"), ("High", "highUsd")):
        assert floats(projection.column(header)) == [d[key] for d in answer["days"]]
    history = shown.tables["history"]
    assert history.column("Date") == [d["date"] for d in answer["history"]]
    assert floats(history.column("Cost")) == [d["costUsd"] for d in answer["history"]]
    assert kpi(shown, "monthEnd") == usd(answer["projectedMonthEndUsd"])
    assert kpi(shown, "monthToDate") == usd(answer["monthToDateCostUsd"])
    # the chart: the history, then the projection with its band
    traces = {t.get("name"): t for t in shown.charts["forecast"]["data"]}
    spent = [y for y in traces["spent"]["y"] if y is not None]
    assert spent == [d["costUsd"] for d in answer["history"]]
    assert traces["projected"]["y"][-len(answer["days"]) :] == [
        d["costUsd"] for d in answer["days"]
    ]
    # the seeded global monthly rule is the budget of the unfiltered view; other scopes have none
    if answer["budget"] is None:
        assert 'data-kpi="budget"' not in shown.html and "No monthly budget applies" in shown.html
    else:
        assert kpi(shown, "budget") == usd(answer["budget"]["amountUsd"])
    # the page links the JSON it shows: the same query
    assert 'type="application/json" href="/api/v1/admin/llm-costs/forecast' in shown.html


def test_the_forecast_shows_the_history_it_used(data: DataSet) -> None:
    shown = get_page(data, "/forecast")
    answer = get_api(data, "/forecast")
    # no preset is highlighted: the range picker shows the default history's days
    assert 'aria-current="true">Month to date' not in shown.html
    assert f'name="startDate" value="{answer["historyStartDate"][:10]}"' in shown.html


def test_month_end_against_a_budget() -> None:
    figures = {"projectedMonthEndUsd": 120.0, "projectedMonthEndLowUsd": 90.0}
    assert budget_usd({**figures, "budget": None}) is None
    assert against_budget({**figures, "budget": None}) is None
    over = against_budget({**figures, "budget": {"amountUsd": 100}})
    assert over == {
        "ruleId": None,
        "ruleName": None,
        "budgetUsd": 100.0,
        "percentOfBudget": 120.0,
        "leftUsd": -20.0,
        "overrun": True,
        "surelyOverrun": False,
    }
    under = against_budget({**figures, "budget": 200})
    assert under is not None and under["leftUsd"] == 80.0 and not under["overrun"]
    sure = against_budget({**figures, "budget": 80})
    assert sure is not None and sure["surelyOverrun"]


@pytest.mark.parametrize(
    ("page", "query"),
    [
        ({"asModel": "gpt-4o-mini"}, {"asModel": "gpt-4o-mini", "startDate": "2026-11-01"}),
        (
            {"asModel": "claude-sonnet-4-20250514", "model": "gpt-4o", "range": "30d"},
            {"asModel": "claude-sonnet-4-20250514", "model": "gpt-4o", "startDate": "2026-10-22"},
        ),
        (
            {"asModel": "gpt-4o", "asProvider": "openai", "orgId": "initech", "range": "7d"},
            {
                "asModel": "gpt-4o",
                "asProvider": "openai",
                "orgId": "initech",
                "startDate": "2026-11-14",
            },
        ),
    ],
)
def test_what_if_is_the_endpoints(
    data: DataSet, page: dict[str, str], query: dict[str, str]
) -> None:
    shown = get_page(data, "/what-if", **page)
    answer = get_api(data, "/what-if", **query)
    days = shown.tables["days"]
    assert days.column("Date") == [d["date"] for d in answer["days"]]
    assert floats(days.column("Cost")) == [d["actualCostUsd"] for d in answer["days"]]
    assert floats(days.column(f"On {answer['asModel']}")) == [
        d["asModelCostUsd"] for d in answer["days"]
    ]
    assert kpi(shown, "actual") == usd(answer["actualCostUsd"])
    assert kpi(shown, "asModel") == usd(answer["asModelCostUsd"])
    lines = shown.charts["what-if"]["data"]
    assert [t["y"] for t in lines] == [
        [d["actualCostUsd"] for d in answer["days"]],
        [d["asModelCostUsd"] for d in answer["days"]],
    ]


def test_what_if_without_a_model_asks_for_one(data: DataSet) -> None:
    shown = get_page(data, "/what-if")
    assert "Pick a model" in shown.text and not shown.tables
    # a model of the range is one click away
    assert any("asModel=gpt-4o" in link for link in shown.links)


def test_what_if_names_the_problem_with_a_model(data: DataSet) -> None:
    r = data.client.get("/admin/llm-costs/what-if?asModel=no-such-model-x", headers=data.admin)
    assert r.status_code == 422
    assert "asModel" in r.text and "no-such-model-x" in r.text
    assert 'value="no-such-model-x"' in r.text  # the form keeps what was asked, to correct it


def test_what_if_suggests_the_chosen_sellers_models(data: DataSet) -> None:
    shown = get_page(data, "/what-if", asProvider="anthropic", asModel="claude-sonnet-4-20250514")
    suggested = re.search(r'<datalist id="catalog-models">(.*?)</datalist>', shown.html, re.S)
    assert suggested and 'value="claude-3-5-sonnet"' in suggested.group(1)
    assert 'value="gpt-4o"' not in suggested.group(1)
