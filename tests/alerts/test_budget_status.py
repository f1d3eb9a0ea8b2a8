"""``GET /api/v1/budget-status``: whether a blocking rule covering a call's scope is CRITICAL,
with the rule and its figures; ingest keys ask for their own organisation only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from llmledger.ledger import Ledger
from tests.alerts.support import spend, utc

BASE = "/api/v1/admin/llm-costs/alerts"
STATUS = "/api/v1/budget-status"
Callers = dict[str, dict[str, str]]


def make(client: TestClient, who: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Acme daily", "alertType": "daily_limit", "thresholdCents": 5_000, **fields}
    r = client.post(BASE, json=body, headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


def ask(client: TestClient, who: dict[str, str], **params: str) -> dict[str, Any]:
    r = client.get(STATUS, params=params, headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_critical_blocking_rule_of_the_scope_blocks_with_its_figures(
    client: TestClient, ledger: Ledger, callers: Callers, clock: Any
) -> None:
    clock.now = utc(2026, 12, 7, 12, 30)
    spend(ledger, utc(2026, 12, 7, 9), "60", org_id="acme", agent="support")
    spend(ledger, utc(2026, 12, 7, 10), "30", org_id="globex", agent="support")
    admin, key = callers["admin"], callers["acme key"]
    blocking = make(client, admin, orgId="acme", action="block")
    make(client, admin, name="Acme notify", orgId="acme", action="notify", thresholdCents=100)
    # the seeded global rules notify only, and are OK: nothing blocks yet for globex
    got = ask(client, key)
    assert got["blocked"] is True
    assert got["scope"] == {"orgId": "acme", "agent": None, "userId": None}
    assert got["checkedRules"] == 1  # the notifying rules are not asked
    (rule,) = got["rules"]
    assert (rule["ruleId"], rule["ruleName"], rule["state"]) == (
        blocking["id"],
        "Acme daily",
        "CRITICAL",
    )
    assert (rule["value"], rule["threshold"], rule["percentUsed"], rule["unit"]) == (
        60.0,
        50.0,
        120.0,
        "usd",
    )
    assert rule["period"]["key"] == "2026-12-07"
    assert rule["message"].startswith("CRITICAL: Acme daily: $60.00 of $50.00 (120%)")
    assert rule["action"] == "block" and rule["scope"] == {"orgId": "acme"}
    # the same rule as an admin sees it, for any organisation
    assert ask(client, admin, orgId="acme")["blocked"] is True
    assert ask(client, admin, orgId="globex")["blocked"] is False


def test_only_critical_active_blocking_rules_that_cover_the_call_block(
    client: TestClient, ledger: Ledger, callers: Callers, clock: Any
) -> None:
    clock.now = utc(2026, 12, 7, 12, 30)
    spend(ledger, utc(2026, 12, 7, 9), "45", org_id="acme", agent="support", user_id="u1")
    admin, key = callers["admin"], callers["acme key"]
    # 45 of 50: WARNING, which never blocks
    warning = make(client, admin, orgId="acme", action="block")
    assert ask(client, key)["blocked"] is False
    # an agent's rule covers only calls that name that agent
    agent = make(
        client,
        admin,
        name="Support",
        orgId="acme",
        agent="support",
        action="block",
        thresholdCents=4_000,
    )
    assert ask(client, key)["blocked"] is False
    assert ask(client, key, agent="other")["blocked"] is False
    over = ask(client, key, agent="support")
    assert [r["ruleId"] for r in over["rules"]] == [agent["id"]]
    assert over["scope"] == {"orgId": "acme", "agent": "support", "userId": None}
    # a user's rule the same way; with two CRITICAL rules both are listed
    user = make(
        client, admin, name="u1", orgId="acme", userId="u1", action="block", thresholdCents=1_000
    )
    both = ask(client, key, agent="support", userId="u1")
    assert [r["ruleId"] for r in both["rules"]] == [agent["id"], user["id"]]
    assert both["checkedRules"] == 3
    # a provider rule covers a call only when the call gives the provider (any case)
    make(client, admin, name="OpenAI", provider="openai", action="block", thresholdCents=100)
    assert ask(client, key)["blocked"] is False
    assert [r["ruleName"] for r in ask(client, key, provider="OpenAI")["rules"]] == ["OpenAI"]
    # inactive rules do not count
    for rule in (agent, user):
        client.put(f"{BASE}/{rule['id']}", json={"isActive": False}, headers=admin)
    assert ask(client, key, agent="support", userId="u1")["blocked"] is False
    # a global blocking rule covers every call
    client.put(
        f"{BASE}/{warning['id']}", json={"orgId": None, "thresholdCents": 4_500}, headers=admin
    )
    assert ask(client, callers["acme key"])["blocked"] is True


def test_ingest_keys_ask_for_their_own_organisation_only(
    client: TestClient, ledger: Ledger, callers: Callers, clock: Any, ingest_key_for: Any
) -> None:
    clock.now = utc(2026, 12, 7, 12, 30)
    spend(ledger, utc(2026, 12, 7, 9), "60", org_id="globex")
    make(client, callers["admin"], name="Globex", orgId="globex", action="block")
    key = callers["acme key"]
    r = client.get(STATUS, params={"orgId": "globex"}, headers=key)
    assert r.status_code == 404 and "globex" not in r.text.replace("no such organisation", "")
    assert ask(client, key, orgId="acme")["blocked"] is False
    assert ask(client, ingest_key_for("globex"))["blocked"] is True
    # users are scoped the same way
    assert (
        client.get(STATUS, params={"orgId": "globex"}, headers=callers["acme viewer"]).status_code
        == 404
    )
    assert ask(client, callers["acme viewer"])["blocked"] is False
    assert client.get(STATUS).status_code == 401


def test_bad_parameters_are_named(client: TestClient, callers: Callers) -> None:
    key = callers["acme key"]
    for params, name in [
        ({"agent": " "}, "agent"),
        ({"userId": "a\x00b"}, "userId"),
        ({"model": "x" * 300}, "model"),
    ]:
        r = client.get(STATUS, params=params, headers=key)
        assert r.status_code == 422, (params, r.text)
        assert name in r.text
