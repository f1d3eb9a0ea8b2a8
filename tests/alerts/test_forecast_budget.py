"""``/forecast``'s ``budget``: the active ``monthly_limit`` rule whose scope is the query's
scope (the lowest threshold when several are), in the API and on the forecast page."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient

from llmledger.ledger import Ledger
from llmledger.server.web.formats import usd
from tests.alerts.support import spend, utc
from tests.web.page import get_page
from tests.web.test_series_pages import kpi

RULES = "/api/v1/admin/llm-costs/alerts"
FORECAST = "/api/v1/admin/llm-costs/forecast"
Callers = dict[str, dict[str, str]]


def make(client: TestClient, who: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Acme month", "alertType": "monthly_limit", "thresholdCents": 50_000, **fields}
    r = client.post(RULES, json=body, headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


def budget(client: TestClient, who: dict[str, str], **params: str) -> Any:
    r = client.get(FORECAST, params=params, headers=who)
    assert r.status_code == 200, r.text
    return r.json()["budget"]


def test_the_budget_is_the_monthly_rule_of_the_querys_scope(
    client: TestClient, ledger: Ledger, callers: Callers, clock: Any
) -> None:
    clock.now = utc(2026, 12, 7, 12)
    admin = callers["admin"]
    # the seeded global rule: $1,000 a month
    seeded = budget(client, admin)
    assert seeded == {
        "amountUsd": 1000.0,
        "thresholdCents": 100_000,
        "ruleId": seeded["ruleId"],
        "ruleName": "Monthly Global Spend Alert",
        "timezone": "UTC",
        "action": "notify",
        "matchingRules": 1,
    }
    assert budget(client, admin, orgId="acme") is None  # no rule of acme: not the global one
    acme = make(client, admin, orgId="acme", action="block", timezone="Europe/Berlin")
    got = budget(client, admin, orgId="acme")
    assert (got["ruleId"], got["amountUsd"], got["timezone"], got["action"]) == (
        acme["id"],
        500.0,
        "Europe/Berlin",
        "block",
    )
    # several rules of one scope: the lowest threshold, and how many there were
    tighter = make(client, admin, name="Acme tight", orgId="acme", thresholdCents=30_000)
    got = budget(client, admin, orgId="acme")
    assert (got["ruleId"], got["amountUsd"], got["matchingRules"]) == (tighter["id"], 300.0, 2)
    # other types, inactive rules and wider or narrower scopes do not count
    make(client, admin, name="Acme daily", orgId="acme", alertType="daily_limit", thresholdCents=1)
    make(
        client,
        admin,
        name="Acme forecast",
        orgId="acme",
        alertType="forecast_overrun",
        thresholdCents=1,
    )
    client.put(f"{RULES}/{tighter['id']}", json={"isActive": False}, headers=admin)
    assert budget(client, admin, orgId="acme")["ruleId"] == acme["id"]
    agent = make(client, admin, name="Acme support", orgId="acme", agent="support")
    assert budget(client, admin, orgId="acme")["ruleId"] == acme["id"]
    assert budget(client, admin, orgId="acme", agent="support")["ruleId"] == agent["id"]
    assert budget(client, admin, agent="support") is None
    openai = make(client, admin, name="OpenAI", provider="openai", model="gpt-4o")
    assert budget(client, admin, provider="OpenAI", model="gpt-4o")["ruleId"] == openai["id"]
    assert budget(client, admin, provider="openai") is None
    # a filter no rule can scope: no budget
    assert budget(client, admin, orgId="acme", operation="summarize") is None
    # a scoped caller's forecast is its organisation's
    assert budget(client, callers["acme viewer"])["ruleId"] == acme["id"]
    assert budget(client, callers["globex admin"]) is None


def test_the_forecast_page_shows_the_month_end_against_the_budget(
    client: TestClient, ledger: Ledger, callers: Callers, clock: Any
) -> None:
    clock.now = utc(2026, 12, 7, 12)
    for day in range(1, 7):
        spend(ledger, utc(2026, 12, day, 10), "100", org_id="acme")
    admin = callers["admin"]
    rule = make(client, admin, orgId="acme", thresholdCents=50_000)
    ds = SimpleNamespace(client=client, admin=admin)
    shown = get_page(ds, "/forecast", orgId="acme")
    answer = client.get(FORECAST, params={"orgId": "acme"}, headers=admin).json()
    assert answer["budget"]["ruleId"] == rule["id"]
    assert kpi(shown, "budget") == usd(500.0)
    assert f'data-budget-rule="{rule["id"]}"' in shown.html and "Acme month" in shown.html
    # $600 spent by the 7th of a $500 month: over, even at the low end of the band
    assert answer["projectedMonthEndLowUsd"] > 500
    assert "At this pace the month ends over its budget, even at the low end" in shown.html
    # another organisation: no budget, and the page says so
    other = get_page(ds, "/forecast", orgId="globex")
    assert 'data-kpi="budget"' not in other.html
    assert "No monthly budget applies to this scope" in other.html
