"""``POST /alerts/{id}/test`` over real receivers (who may press it, what arrives, the audit
row), and a dead Slack endpoint seen through ``GET /alerts/history`` until a retry gets
through, with the clock injected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from llmledger.alerts.check import check
from llmledger.alerts.sender import deliver_due
from llmledger.alerts.signing import verify
from llmledger.alerts.tables import alert_rules
from llmledger.auth.tables import audit_log
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from llmledger.store.rows import to_us
from tests.alerts.receivers import HttpReceiver, Mailbox
from tests.alerts.support import spend, utc
from tests.conftest import Clock

BASE = "/api/v1/admin/llm-costs/alerts"
PUBLIC = "https://ledger.example.com"
NOW = utc(2026, 12, 7, 9, 30)
Callers = dict[str, dict[str, str]]


@pytest.fixture
def sending(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "allow_private_webhooks": True,
            "public_url": PUBLIC,
        }
    )


@pytest.fixture
def app_client(ledger: Ledger, sending: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sending, ledger=ledger, clock=Clock(NOW))) as c:
        yield c


def make(client: TestClient, who: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Acme daily", "alertType": "daily_limit", "thresholdCents": 10_000, **fields}
    r = client.post(BASE, json=body, headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_the_test_button_sends_a_marked_message_to_every_channel_and_is_audited(
    app_client: TestClient,
    ledger: Ledger,
    callers: Callers,
    mailbox: Mailbox,
    receiver: HttpReceiver,
) -> None:
    made = make(
        app_client,
        callers["admin"],
        orgId="acme",
        notificationEmails=["ops@acme.example"],
        slackWebhookUrl=receiver.url("/services/T0/B0/slackSecret"),
        webhookUrl=receiver.url("/hook/hookSecret"),
    )
    r = app_client.post(f"{BASE}/{made['id']}/test", headers=callers["admin"])
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["ruleId"], answer["ok"]) == (made["id"], True)
    assert answer["results"] == [
        {"channel": "email", "target": "ops@acme.example", "ok": True, "detail": "sent"},
        {"channel": "slack", "target": "****cret", "ok": True, "detail": "HTTP 200: ok"},
        {"channel": "webhook", "target": "****cret", "ok": True, "detail": "HTTP 200: ok"},
    ]
    # masked as every answer masks them: the rule's own answer, the history, the audit log
    assert [r["target"] for r in answer["results"][1:]] == [
        made["slackWebhookUrl"],
        made["webhookUrl"],
    ]
    (mail,) = mailbox.mails
    assert mail.message["Subject"].startswith("[llmledger] TEST — CRITICAL: Acme daily")
    assert "TEST MESSAGE" in mail.part("plain")
    (slack,) = receiver.at("/services/T0/B0/slackSecret")
    assert orjson.loads(slack.body)["text"].startswith("TEST — ")
    (hook,) = receiver.at("/hook/hookSecret")
    body = orjson.loads(hook.body)
    assert (body["type"], body["test"], body["link"]) == ("alert.test", True, f"{PUBLIC}/")
    assert verify(made["webhookSecret"], hook.body, hook.headers["X-LLMLedger-Signature"])
    with ledger.engine.connect() as conn:
        (row,) = conn.execute(select(audit_log).where(audit_log.c.action == "alert.test")).all()
    assert (row.target, row.org_id) == (f"alert:{made['id']}", "acme")
    assert row.after == {"results": answer["results"]}
    assert "slackSecret" not in repr(row.after) and "hookSecret" not in repr(row.after)


def test_who_may_press_the_test_button(
    app_client: TestClient, ledger: Ledger, callers: Callers, mailbox: Mailbox
) -> None:
    acme = make(app_client, callers["admin"], orgId="acme", notificationEmails=["a@acme.example"])
    url = f"{BASE}/{acme['id']}/test"
    assert app_client.post(url, headers=callers["acme admin"]).status_code == 200
    assert app_client.post(url, headers=callers["globex admin"]).status_code == 404
    assert app_client.post(url, headers=callers["acme viewer"]).status_code == 403
    assert app_client.post(url, headers=callers["acme key"]).status_code == 403
    assert app_client.post(f"{BASE}/999999/test", headers=callers["admin"]).status_code == 404
    assert len(mailbox.mails) == 1  # the org admin's; nobody else's sent anything
    bare = make(app_client, callers["admin"])
    r = app_client.post(f"{BASE}/{bare['id']}/test", headers=callers["admin"])
    assert r.status_code == 422
    assert r.json()["detail"].startswith("the rule has no channels")
    with ledger.engine.connect() as conn:
        tests = conn.execute(select(audit_log.c.id).where(audit_log.c.action == "alert.test"))
        assert len(tests.all()) == 1


def test_a_dead_slack_endpoint_shows_in_the_history_and_a_retry_succeeds_once_it_is_back(
    app_client: TestClient,
    ledger: Ledger,
    sending: Settings,
    callers: Callers,
    mailbox: Mailbox,
    receiver: HttpReceiver,
) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(update(alert_rules).values(is_active=False))  # the seeded defaults
    receiver.down.add("/services/dead")
    made = make(
        app_client,
        callers["admin"],
        notificationEmails=["ops@acme.example"],
        slackWebhookUrl=receiver.url("/services/dead"),
    )
    spend(ledger, utc(2026, 12, 7, 8), "150")
    (firing,) = check(ledger.engine, now=NOW).fired
    assert deliver_due(ledger, sending, now_us=to_us(NOW)) == 1  # the email

    def deliveries() -> dict[str, dict[str, Any]]:
        r = app_client.get(
            f"{BASE}/history", params={"ruleId": made["id"]}, headers=callers["admin"]
        )
        assert r.status_code == 200, r.text
        (entry,) = r.json()["firings"]
        assert (entry["id"], entry["level"]) == (firing, "CRITICAL")
        return {d["channel"]: d for d in entry["deliveries"]}

    shown = deliveries()
    assert (shown["email"]["status"], shown["email"]["attempts"]) == ("sent", 1)
    slack = shown["slack"]
    assert (slack["status"], slack["attempts"]) == ("pending", 1)
    assert slack["nextAttemptAt"] == "2026-12-07T09:30:30Z"
    assert "RemoteProtocolError" in slack["lastError"]
    assert [a["ok"] for a in slack["attemptLog"]] == [False]
    assert slack["target"].endswith("dead") and "127.0.0.1" not in slack["target"]

    receiver.down.clear()  # back
    later = NOW + dt.timedelta(seconds=30)
    assert deliver_due(ledger, sending, now_us=to_us(later)) == 1
    slack = deliveries()["slack"]
    assert (slack["status"], slack["attempts"], slack["sentAt"]) == (
        "sent",
        2,
        "2026-12-07T09:30:30Z",
    )
    assert [a["ok"] for a in slack["attemptLog"]] == [False, True]
    assert len(receiver.at("/services/dead")) == 1
    assert len(mailbox.mails) == 1  # the email went once, while Slack was down
    assert deliver_due(ledger, sending, now_us=to_us(later + dt.timedelta(hours=2))) == 0
