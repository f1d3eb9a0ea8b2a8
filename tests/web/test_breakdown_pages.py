"""Agents, models, users and operations: each page's figures are its endpoint's for the same
range, scope and filters, row for row."""

from __future__ import annotations

from typing import Any

import pytest

from tests.analytics.conftest import DataSet
from tests.web.page import get_api, get_page

#: (the page's query, the API's query for the same range): presets become their dates
CASES = [
    ({}, {"startDate": "2026-11-01"}),
    ({"range": "7d"}, {"startDate": "2026-11-14"}),
    (
        {"startDate": "2026-10-10", "endDate": "2026-11-15", "provider": "openai"},
        {"startDate": "2026-10-10", "endDate": "2026-11-15", "provider": "openai"},
    ),
    (
        {"range": "30d", "orgId": "globex", "success": "false"},
        {"startDate": "2026-10-22", "orgId": "globex", "success": "false"},
    ),
    (
        {"range": "30d", "userId": "acme-u1"},  # answered from raw events
        {"startDate": "2026-10-22", "userId": "acme-u1"},
    ),
]


def floats(values: list[str | None]) -> list[float | None]:
    return [None if v in (None, "") else float(v) for v in values]


def label(value: Any) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize(("page", "query"), CASES)
def test_agents_are_by_agent(data: DataSet, page: dict[str, str], query: dict[str, str]) -> None:
    shown = get_page(data, "/agents", **page)
    answer = get_api(data, "/by-agent", **query)["agents"]
    agents = shown.tables["agents"]
    assert agents.column("Agent") == [label(a["agent"]) for a in answer]
    assert floats(agents.column("Cost")) == [a["costUsd"] for a in answer]
    assert agents.column("Requests") == [str(a["requests"]) for a in answer]
    assert floats(agents.column("Success")) == [a["successRate"] for a in answer]
    pairs = shown.tables["agent-models"]
    expected = [(label(a["agent"]), m["model"], m["costUsd"]) for a in answer for m in a["models"]]
    got = list(
        zip(pairs.column("Agent"), pairs.column("Model"), floats(pairs.column("Cost")), strict=True)
    )
    assert got == expected
    assert sum(floats(pairs.column("Cost"))) == pytest.approx(sum(a["costUsd"] for a in answer))
    # the chart draws the same agents (up to 15), largest at the top
    bars = shown.charts["agents"]["data"][0]
    assert bars["x"][::-1] == [a["costUsd"] for a in answer][:15]


@pytest.mark.parametrize(("page", "query"), CASES)
def test_models_are_by_model(data: DataSet, page: dict[str, str], query: dict[str, str]) -> None:
    shown = get_page(data, "/models", **page)
    answer = get_api(data, "/by-model", **query)["models"]
    table = shown.tables["models"]
    assert list(zip(table.column("Model"), table.column("Provider"), strict=True)) == [
        (m["model"], m["provider"]) for m in answer
    ]
    for header, key in (
        ("Calls", "requests"),
        ("Avg cost per call", "avgCostPerRequestUsd"),
        ("Cost per 1k tokens", "costPer1kTokensUsd"),
        ("Avg tokens", "avgTokensPerRequest"),
        ("Avg latency", "avgLatencyMs"),
        ("Success", "successRate"),
        ("Cost", "costUsd"),
        ("Share", "sharePercent"),
    ):
        assert floats(table.column(header)) == [m[key] for m in answer], header


def test_models_list_the_fallback_priced_ones(data: DataSet) -> None:
    dates = {"startDate": "2026-10-10", "endDate": "2026-11-15"}
    shown = get_page(data, "/models", **dates)
    r = data.client.get("/api/v1/admin/pricing/unpriced", params=dates, headers=data.admin)
    listed = r.json()["models"]
    assert listed, "the data set has a model priced with the fallback"
    table = shown.tables["unpriced"]
    assert table.column("Model") == [m["model"] for m in listed]
    assert table.column("Requests") == [str(m["requests"]) for m in listed]
    assert floats(table.column("Fallback-priced spend")) == [float(m["spendUsd"]) for m in listed]
    assert 'id="unpriced"' in shown.html  # the overview's fallback figure links here


@pytest.mark.parametrize(("page", "query"), CASES)
def test_users_are_by_user(data: DataSet, page: dict[str, str], query: dict[str, str]) -> None:
    shown = get_page(data, "/users", **page)
    answer = get_api(data, "/by-user", **query)["users"]
    table = shown.tables["users"]
    assert list(zip(table.column("User"), table.column("Organisation"), strict=True)) == [
        (u["userId"], label(u["orgId"])) for u in answer
    ]
    assert floats(table.column("Cost")) == [u["costUsd"] for u in answer]
    assert floats(table.column("Share")) == [u["sharePercent"] for u in answer]


def test_users_take_a_limit(data: DataSet) -> None:
    shown = get_page(data, "/users", limit="3")
    answer = get_api(data, "/by-user", limit="3")["users"]
    assert shown.tables["users"].column("User") == [u["userId"] for u in answer]
    assert len(answer) == 3
    r = data.client.get("/admin/llm-costs/users", params={"limit": "0"}, headers=data.admin)
    assert r.status_code == 422 and "limit" in r.text


@pytest.mark.parametrize(("page", "query"), CASES)
def test_operations_are_by_operation(
    data: DataSet, page: dict[str, str], query: dict[str, str]
) -> None:
    shown = get_page(data, "/operations", **page)
    answer = get_api(data, "/by-operation", **query)["operations"]
    table = shown.tables["operations"]
    assert table.column("Operation") == [label(o["operation"]) for o in answer]
    assert floats(table.column("Cost")) == [o["costUsd"] for o in answer]
    assert floats(table.column("Avg cost per request")) == [
        o["avgCostPerRequestUsd"] for o in answer
    ]
    # the donut's slices add up to the whole, the smallest summed into one
    donut = shown.charts["operations"]["data"][0]
    assert sum(donut["values"]) == pytest.approx(sum(o["costUsd"] for o in answer))


def test_sorting_a_table_sorts_its_csv(data: DataSet) -> None:
    shown = get_page(data, "/agents", sort="requests", order="asc")
    requests = [int(v or 0) for v in shown.tables["agents"].column("Requests")]
    assert requests == sorted(requests)
    csv_link = shown.tables["agents"].csv_href
    assert csv_link is not None and "sort=requests" in csv_link


def test_rows_link_to_the_requests_behind_them(data: DataSet) -> None:
    shown = get_page(data, "/operations", range="7d")
    table = shown.tables["operations"]
    named = [r for r in table.rows if r[0].value]
    assert named and all(r[0].href for r in named)
    href = named[0][0].href
    assert href is not None and href.startswith("/admin/llm-costs/requests?")
    assert "range=7d" in href and "operation=" in href
    # events sent without an operation cannot be asked for by a filter: no link
    assert all(r[0].href is None for r in table.rows if not r[0].value)
