"""The alerts API: rules made, read, changed and deleted by role, every bad field named at
once, credentials never returned whole nor audit-logged whole, the live status and the
history of firings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.alerts.check import check
from llmledger.auth.tables import audit_log
from llmledger.ledger import Ledger
from tests.alerts.support import spend, utc

BASE = "/api/v1/admin/llm-costs/alerts"
SLACK = "https://hooks.slack.com/services/T0AAA/B0BBB/SlackSecretXyZ9"
HOOK = "https://8.8.8.8/receiver/hookSecretQ7w2"
Callers = dict[str, dict[str, str]]


def make(client: TestClient, who: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Acme daily", "alertType": "daily_limit", "thresholdCents": 10_000, **fields}
    r = client.post(BASE, json=body, headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_an_admin_makes_reads_changes_and_deletes_a_rule(
    client: TestClient, ledger: Ledger, callers: Callers
) -> None:
    admin = callers["admin"]
    made = make(
        client,
        admin,
        orgId="acme",
        agent="support",
        notificationEmails=["Ops@Example.com", "ops@example.com"],
        slackWebhookUrl=SLACK,
        webhookUrl=HOOK,
        timezone="Asia/Kolkata",
    )
    secret = made["webhookSecret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert made["slackWebhookUrl"] == "****XyZ9" and made["webhookUrl"] == "****Q7w2"
    assert made["scope"] == {"orgId": "acme", "agent": "support"}
    assert (made["warningPercent"], made["notificationFrequency"], made["action"]) == (
        80,
        "once",
        "notify",
    )
    assert made["spikePercent"] is None and made["thresholdPercent"] is None
    rule_id = made["id"]
    shown = client.get(f"{BASE}/{rule_id}", headers=admin).json()
    assert shown["webhookSecret"] == "****" + secret[-4:]
    names = [r["name"] for r in client.get(BASE, headers=admin).json()["rules"]]
    assert names == [
        "Daily Global Spend Alert",
        "Monthly Global Spend Alert",
        "Cost Spike Alert",
        "Acme daily",
    ]
    r = client.put(
        f"{BASE}/{rule_id}", json={"thresholdCents": 5_000, "agent": None}, headers=admin
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["thresholdCents"], changed["agent"], changed["timezone"]) == (
        5_000,
        None,
        "Asia/Kolkata",
    )
    assert changed["webhookSecret"] == shown["webhookSecret"]  # unchanged: not shown again
    rotated = client.put(
        f"{BASE}/{rule_id}", json={"rotateWebhookSecret": True}, headers=admin
    ).json()["webhookSecret"]
    assert rotated.startswith("whsec_") and rotated != secret
    # a change of type clears what the old type used and fills the new one's defaults
    spike = client.put(f"{BASE}/{rule_id}", json={"alertType": "cost_spike"}, headers=admin).json()
    assert (spike["thresholdCents"], spike["spikePercent"], spike["minCostCents"]) == (
        None,
        200,
        100,
    )
    assert client.delete(f"{BASE}/{rule_id}", headers=admin).json() == {"deleted": rule_id}
    assert client.get(f"{BASE}/{rule_id}", headers=admin).status_code == 404
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
    actions = [r.action for r in rows if r.target == f"alert:{rule_id}"]
    assert actions == [
        "alert.create",
        "alert.update",
        "alert.update",
        "alert.update",
        "alert.delete",
    ]
    logged = repr([(r.before, r.after) for r in rows])
    for credential in (SLACK, HOOK, secret, rotated, SLACK[-12:], secret[-12:]):
        assert credential not in logged
    assert rows[-1].org_id == "acme"


def test_every_bad_field_is_named_at_once(client: TestClient, callers: Callers) -> None:
    body = {
        "name": "bad",
        "alertType": "daily_limit",
        "spikePercent": 50,
        "timezone": "Mars/Olympus_Mons",
        "slackWebhookUrl": "http://hooks.slack.com/x",
        "webhookUrl": "https://10.1.2.3/hook",
        "notificationEmails": ["a@example.com\nBcc: b@example.com"],
    }
    r = client.post(BASE, json=body, headers=callers["admin"])
    assert r.status_code == 422
    errors = dict(line.split(": ", 1) for line in r.json()["errors"])
    assert set(errors) == {
        "thresholdCents",
        "spikePercent",
        "timezone",
        "slackWebhookUrl",
        "webhookUrl",
        "notificationEmails",
    }
    assert errors["thresholdCents"] == "is required for daily_limit"
    assert errors["spikePercent"] == "is not used by daily_limit"
    assert "is not an IANA timezone name" in errors["timezone"]
    assert "https" in errors["slackWebhookUrl"]
    for bad in (
        {"alertType": "error_rate"},  # no thresholdPercent
        {"alertType": "daily_limit", "thresholdCents": 0},
        {"alertType": "daily_limit", "thresholdCents": "100"},
        {"alertType": "monthly", "thresholdCents": 100},
        {"alertType": "daily_limit", "thresholdCents": 100, "budget": 5},
        {"alertType": "daily_limit", "thresholdCents": 100, "orgId": "  "},
        {"alertType": "daily_limit", "thresholdCents": 100, "notificationEmails": ["a@b.c, d@e.f"]},
    ):
        r = client.post(BASE, json={"name": "bad", **bad}, headers=callers["admin"])
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"], bad
    assert len(client.get(BASE, headers=callers["admin"]).json()["rules"]) == 3


def test_org_admins_manage_their_own_organisations_rules_only(
    client: TestClient, callers: Callers
) -> None:
    mine = make(client, callers["acme admin"])
    assert mine["orgId"] == "acme"  # scoped to the org admin's organisation
    theirs = make(client, callers["admin"], orgId="globex")
    r = client.post(
        BASE,
        json={"name": "x", "alertType": "daily_limit", "thresholdCents": 1, "orgId": "globex"},
        headers=callers["acme admin"],
    )
    assert r.status_code == 403
    r = client.post(
        BASE,
        json={"name": "x", "alertType": "daily_limit", "thresholdCents": 1, "orgId": None},
        headers=callers["acme admin"],
    )
    assert r.status_code == 403  # a global rule is the admins'
    acme_admin = callers["acme admin"]
    for method in ("GET", "PUT", "DELETE"):
        r = client.request(
            method, f"{BASE}/{theirs['id']}", json={"thresholdCents": 1}, headers=acme_admin
        )
        assert r.status_code == 404, (method, r.text)
    r = client.put(f"{BASE}/{mine['id']}", json={"orgId": "globex"}, headers=acme_admin)
    assert r.status_code == 403
    listed = client.get(BASE, headers=callers["acme viewer"]).json()["rules"]
    assert [r["id"] for r in listed] == [mine["id"]]
    viewer = callers["acme viewer"]
    assert client.get(f"{BASE}/{mine['id']}", headers=viewer).status_code == 200
    assert client.put(f"{BASE}/{mine['id']}", json={"name": "y"}, headers=viewer).status_code == 403
    assert client.delete(f"{BASE}/{mine['id']}", headers=viewer).status_code == 403
    assert client.get(BASE, headers=callers["acme key"]).status_code == 403
    assert client.get(BASE).status_code == 401


def test_status_shows_every_active_rules_state(
    client: TestClient, ledger: Ledger, callers: Callers, clock: Any
) -> None:
    clock.now = utc(2026, 12, 7, 12, 30)
    spend(ledger, utc(2026, 12, 7, 9), "85", org_id="acme")
    spend(ledger, utc(2026, 12, 7, 11, 10), "40", org_id="globex")  # a spike: the last hour
    acme = make(client, callers["admin"], orgId="acme", thresholdCents=5_000)
    client.put(f"{BASE}/1", json={"isActive": False}, headers=callers["admin"])
    got = client.get(f"{BASE}/status", headers=callers["admin"]).json()
    states = {s["ruleName"]: s for s in got["rules"]}
    assert set(states) == {"Monthly Global Spend Alert", "Cost Spike Alert", "Acme daily"}
    assert states["Acme daily"]["state"] == "CRITICAL"
    assert (states["Acme daily"]["value"], states["Acme daily"]["percentUsed"]) == (85.0, 170.0)
    assert states["Cost Spike Alert"]["state"] == "CRITICAL"
    assert states["Cost Spike Alert"]["period"]["key"] == "2026-12-07T11Z"
    monthly = states["Monthly Global Spend Alert"]
    assert (monthly["state"], monthly["value"], monthly["threshold"]) == ("OK", 125.0, 1000.0)
    assert monthly["period"] == {
        "key": "2026-12",
        "start": "2026-12-01T00:00:00Z",
        "end": "2027-01-01T00:00:00Z",
        "timezone": "UTC",
    }
    alerts = sorted(got["alerts"], key=lambda a: a["ruleId"])
    # the spike's threshold: three times the mean hour of the week before ($85 / 168)
    assert [(a["type"], a["threshold"]) for a in alerts] == [
        ("CRITICAL", 1.517857143),
        ("CRITICAL", 50.0),
    ]
    assert alerts[1]["message"].startswith("CRITICAL: Acme daily: $85.00 of $50.00 (170%)")
    assert got["counts"] == {"OK": 1, "WARNING": 0, "CRITICAL": 2}
    scoped = client.get(f"{BASE}/status", headers=callers["acme viewer"]).json()
    assert [s["ruleId"] for s in scoped["rules"]] == [acme["id"]]
    assert client.get(f"{BASE}/status", headers=callers["globex admin"]).json()["rules"] == []


def test_history_lists_firings_with_their_deliveries(
    client: TestClient, ledger: Ledger, callers: Callers
) -> None:
    admin = callers["admin"]
    for default in (1, 2, 3):
        client.put(f"{BASE}/{default}", json={"isActive": False}, headers=admin)
    make(client, admin, orgId="acme", notificationEmails=["ops@example.com"], slackWebhookUrl=SLACK)
    make(client, admin, name="Globex daily", orgId="globex")
    now = utc(2026, 12, 7, 12)
    spend(ledger, utc(2026, 12, 7, 9), "85", org_id="acme")
    spend(ledger, utc(2026, 12, 7, 9), "99", org_id="globex")
    check(ledger.engine, now=now)
    spend(ledger, utc(2026, 12, 7, 10), "20", org_id="acme")
    check(ledger.engine, now=now + dt.timedelta(hours=1))
    got = client.get(f"{BASE}/history", headers=admin).json()
    assert [(f["ruleName"], f["level"]) for f in got["firings"]] == [
        ("Acme daily", "CRITICAL"),
        ("Globex daily", "WARNING"),
        ("Acme daily", "WARNING"),
    ]
    newest = got["firings"][0]
    assert (newest["value"], newest["threshold"], newest["unit"]) == (105.0, 100.0, "usd")
    assert newest["period"]["key"] == "2026-12-07" and newest["firedAt"] == "2026-12-07T13:00:00Z"
    deliveries = {d["channel"]: d for d in newest["deliveries"]}
    assert set(deliveries) == {"email", "slack"}
    assert deliveries["email"]["target"] == "ops@example.com"
    assert deliveries["slack"]["target"] == "****XyZ9"
    assert SLACK not in str(got)
    assert deliveries["slack"]["status"] == "pending" and deliveries["slack"]["attemptLog"] == []
    page = client.get(f"{BASE}/history", params={"limit": 2}, headers=admin).json()
    assert len(page["firings"]) == 2 and page["nextCursor"] == page["firings"][1]["id"]
    rest = client.get(
        f"{BASE}/history", params={"limit": 2, "cursor": page["nextCursor"]}, headers=admin
    ).json()
    assert [f["level"] for f in rest["firings"]] == ["WARNING"] and not rest["nextCursor"]
    warnings = client.get(f"{BASE}/history", params={"level": "WARNING"}, headers=admin).json()
    assert len(warnings["firings"]) == 2
    acme = client.get(f"{BASE}/history", headers=callers["acme viewer"]).json()["firings"]
    assert {f["orgId"] for f in acme} == {"acme"} and len(acme) == 2
    by_org = client.get(f"{BASE}/history", params={"orgId": "globex"}, headers=admin).json()
    assert [f["ruleName"] for f in by_org["firings"]] == ["Globex daily"]
    r = client.get(f"{BASE}/history", params={"orgId": "globex"}, headers=callers["acme viewer"])
    assert r.status_code == 404
    later = client.get(
        f"{BASE}/history",
        params={"startDate": "2026-12-07T12:30:00Z", "endDate": "2026-12-07"},
        headers=admin,
    ).json()
    assert [f["level"] for f in later["firings"]] == ["CRITICAL"]
