"""reconciliation_drift rules through the API: made by admins with clear 422s for what the type
cannot hold, refused to org admins with 403 saying why, and shown in ``/alerts/status`` with
the day and model that drift."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from llmledger.ledger import Ledger
from tests.alerts.drift_support import NOW, day, drift_rule, plant
from tests.conftest import Clock

BASE = "/api/v1/admin/llm-costs/alerts"
Callers = dict[str, dict[str, str]]


def refused(
    client: TestClient, who: dict[str, str], body: dict[str, Any], rule_id: int | None = None
) -> dict[str, str]:
    r = (
        client.post(BASE, json=body, headers=who)
        if rule_id is None
        else client.put(f"{BASE}/{rule_id}", json=body, headers=who)
    )
    assert r.status_code == 422, r.text
    lines = r.json()["errors"]
    assert isinstance(lines, list) and r.json()["detail"] == "; ".join(lines)
    return dict(line.split(": ", 1) for line in lines)


def test_an_admin_makes_a_drift_rule_with_its_defaults(
    client: TestClient, callers: Callers
) -> None:
    r = client.post(BASE, json=drift_rule(provider="OpenAI"), headers=callers["admin"])
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["alertType"] == "reconciliation_drift" and made["scope"] == {"provider": "openai"}
    assert made["thresholdPercent"] is None  # follows LLMLEDGER_RECONCILIATION_DRIFT_PERCENT
    assert (made["warningPercent"], made["timezone"], made["action"]) == (80, "UTC", "notify")
    assert made["thresholdCents"] is None and made["minRequests"] is None
    changed = client.put(
        f"{BASE}/{made['id']}",
        json={"thresholdPercent": 5, "provider": None},
        headers=callers["admin"],
    )
    assert changed.status_code == 200 and changed.json()["thresholdPercent"] == 5
    assert changed.json()["scope"] == {}


def test_what_a_drift_rule_cannot_hold_is_named_at_once(
    client: TestClient, callers: Callers
) -> None:
    admin = callers["admin"]
    errors = refused(
        client,
        admin,
        drift_rule(
            orgId="acme",
            agent="bot",
            userId="u1",
            model="gpt-4o",
            thresholdCents=100,
            spikePercent=10,
            minRequests=5,
            action="block",
            timezone="Europe/Paris",
        ),
    )
    whole = (
        "is not used by reconciliation_drift: reconciliation compares a provider's whole account"
    )
    for field in ("orgId", "agent", "userId", "model"):
        assert errors[field].startswith(whole), errors
    for field in ("thresholdCents", "spikePercent", "minRequests"):
        assert errors[field] == "is not used by reconciliation_drift"
    assert errors["action"].startswith("block is not used by reconciliation_drift")
    assert errors["timezone"].startswith("must be UTC for reconciliation_drift")
    assert refused(client, admin, drift_rule(provider="mistral"))["provider"].startswith(
        "must be one of openai, anthropic, groq"
    )
    for bad in (0, 101, "2", True):
        assert (
            "thresholdPercent"
            in client.post(BASE, json=drift_rule(thresholdPercent=bad), headers=admin).text
        )
    # a rule of an organisation cannot become a drift rule (its scope would widen unseen)
    r = client.post(
        BASE,
        json={
            "name": "Acme daily",
            "alertType": "daily_limit",
            "thresholdCents": 100,
            "orgId": "acme",
            "timezone": "Europe/Paris",
            "action": "block",
        },
        headers=admin,
    )
    acme = r.json()["id"]
    assert refused(client, admin, {"alertType": "reconciliation_drift"}, acme)["orgId"].startswith(
        whole
    )
    # a global one can: its zone and blocking fall back to UTC and notify, its threshold goes
    r = client.post(
        BASE,
        json={
            "name": "Daily",
            "alertType": "daily_limit",
            "thresholdCents": 100,
            "timezone": "Europe/Paris",
            "action": "block",
        },
        headers=admin,
    )
    turned = client.put(
        f"{BASE}/{r.json()['id']}", json={"alertType": "reconciliation_drift"}, headers=admin
    )
    assert turned.status_code == 200, turned.text
    shown = turned.json()
    assert (shown["timezone"], shown["action"], shown["thresholdCents"]) == ("UTC", "notify", None)


def test_org_admins_are_refused_the_type_with_the_reason(
    client: TestClient, callers: Callers
) -> None:
    acme = callers["acme admin"]
    r = client.post(BASE, json=drift_rule(), headers=acme)
    assert r.status_code == 403
    assert "reconciliation_drift rules are for admins only" in r.json()["detail"]
    assert "whole account" in r.json()["detail"]
    own = client.post(
        BASE, json={"name": "Mine", "alertType": "daily_limit", "thresholdCents": 100}, headers=acme
    ).json()
    r = client.put(f"{BASE}/{own['id']}", json={"alertType": "reconciliation_drift"}, headers=acme)
    assert r.status_code == 403 and "admins only" in r.json()["detail"]
    # a drift rule is nobody's organisation's: org callers never see it
    made = client.post(BASE, json=drift_rule(), headers=callers["admin"]).json()
    assert client.get(f"{BASE}/{made['id']}", headers=acme).status_code == 404
    assert made["id"] not in [
        s["ruleId"] for s in client.get(f"{BASE}/status", headers=acme).json()["rules"]
    ]


def test_the_status_shows_the_drifting_day_and_model(
    client: TestClient, ledger: Ledger, callers: Callers, clock: Clock
) -> None:
    clock.now = NOW
    plant(ledger)
    made = client.post(BASE, json=drift_rule(), headers=callers["admin"]).json()
    answer = client.get(f"{BASE}/status", headers=callers["admin"]).json()
    (mine,) = [s for s in answer["rules"] if s["ruleId"] == made["id"]]
    assert (mine["state"], mine["unit"], mine["threshold"]) == ("CRITICAL", "percent", 2.0)
    assert mine["period"]["key"] == f"{day(0)}..{day(6)}"
    assert mine["figures"]["drifts"] == [
        {
            "provider": "openai",
            "day": day(2),
            "level": "CRITICAL",
            "driftPercent": 33.33,
            "models": ["gpt-4o"],
        }
    ]
    (alert,) = [a for a in answer["alerts"] if a["ruleId"] == made["id"]]
    assert alert["type"] == "CRITICAL"
    assert f"differ by more than 2% for openai on {day(2)} (gpt-4o)" in alert["message"]
