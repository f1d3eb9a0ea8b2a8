"""The sender over real receivers: an SMTP server and an HTTP server on 127.0.0.1 get the
messages, and the tests read what arrived. Time is injected, so retries and giving up are
crossed without sleeping."""

from __future__ import annotations

import orjson
import pytest

from llmledger.alerts.sender import GIVE_UP_SECONDS, deliver_due, send_test
from llmledger.alerts.signing import verify
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.alerts.outbox import SECRET, T0, add_rule, attempts, delivery, fire
from tests.alerts.receivers import HttpReceiver, Mailbox, free_port

S = 1_000_000
PUBLIC = "https://ledger.example.com"


@pytest.fixture
def sending(settings: Settings, mailbox: Mailbox) -> Settings:
    """The test's settings, sending mail to its mailbox and webhooks to 127.0.0.1."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "smtp_from": "alerts@ledger.example.com",
            "allow_private_webhooks": True,
            "public_url": PUBLIC,
        }
    )


def test_an_email_arrives_with_plain_text_and_html(
    ledger: Ledger, sending: Settings, mailbox: Mailbox
) -> None:
    rule = add_rule(ledger.engine)
    _, ids = fire(ledger.engine, rule, {"email": "ops@acme.example, cfo@acme.example"})
    assert deliver_due(ledger, sending, now_us=T0) == 1
    (mail,) = mailbox.mails
    assert mail.rcpt_tos == ["ops@acme.example", "cfo@acme.example"]
    assert mail.message["From"] == "alerts@ledger.example.com"
    assert mail.message["Subject"] == (
        "[llmledger] CRITICAL: Acme daily spend — $104.25 of $100.00 (104.3% used)"
    )
    text = mail.part("plain").splitlines()
    for line in (
        "Daily spend of $104.25 crossed the limit of $100.00",
        "Alert: Daily limit (CRITICAL)",
        "Scope: organisation acme",
        "Value: $104.25",
        "Threshold: $100.00",
        "Period: 2026-12-07 (2026-12-07 00:00 to 2026-12-08 00:00 Europe/Paris)",
        "  1. model gpt-4o: $70.00",
        "  2. model claude-sonnet-4: $30.00",
        "  3. model gpt-4o-mini: $4.25",
        f"Dashboard: {PUBLIC}/requests?orgId=acme&from=2026-12-07&to=2026-12-08",
    ):
        assert line in text
    html = mail.part("html")
    assert "<li>model gpt-4o: $70.00</li>" in html
    assert f'href="{PUBLIC}/requests?orgId=acme&amp;from=2026-12-07&amp;to=2026-12-08"' in html
    row = delivery(ledger.engine, ids["email"])
    assert (row.status, row.attempts, row.sent_us, row.lease_until_us) == ("sent", 1, T0, None)
    assert [(a.ok, a.detail) for a in attempts(ledger.engine, ids["email"])] == [(True, "sent")]
    assert deliver_due(ledger, sending, now_us=T0 + 3600 * S) == 0  # sent once
    assert len(mailbox.mails) == 1


def test_slack_gets_a_readable_message(
    ledger: Ledger, sending: Settings, receiver: HttpReceiver
) -> None:
    rule = add_rule(ledger.engine)
    fire(ledger.engine, rule, {"slack": receiver.url("/services/T0/B0/abcd")})
    assert deliver_due(ledger, sending, now_us=T0) == 1
    (request,) = receiver.at("/services/T0/B0/abcd")
    assert request.headers["Content-Type"] == "application/json"
    payload = orjson.loads(request.body)
    assert payload["text"] == "CRITICAL: Acme daily spend — $104.25 of $100.00 (104.3% used)"
    text = "\n".join(
        block.get("text", {}).get("text", "")
        + "\n".join(f["text"] for f in block.get("fields", []))
        for block in payload["blocks"]
    )
    for words in (
        "*Scope*\norganisation acme",
        "*Value*\n$104.25",
        "*Threshold*\n$100.00",
        "1. model gpt-4o: $70.00",
        f"<{PUBLIC}/requests?orgId=acme&from=2026-12-07&to=2026-12-08|Open the dashboard view>",
    ):
        assert words in text


def test_a_webhook_gets_the_documented_body_signed(
    ledger: Ledger, sending: Settings, receiver: HttpReceiver
) -> None:
    rule = add_rule(ledger.engine)
    firing, ids = fire(ledger.engine, rule, {"webhook": receiver.url("/hook")})
    assert deliver_due(ledger, sending, now_us=T0) == 1
    (request,) = receiver.at("/hook")
    header = request.headers["X-LLMLedger-Signature"]
    assert verify(SECRET, request.body, header)  # against this machine's clock
    assert not verify("another secret", request.body, header)
    assert request.headers["X-LLMLedger-Delivery"] == str(ids["webhook"])
    assert request.headers["X-LLMLedger-Event"] == "alert.fired"
    body = orjson.loads(request.body)
    assert set(body) == {
        "version",
        "type",
        "test",
        "firingId",
        "deliveryId",
        "firedAt",
        "rule",
        "level",
        "scope",
        "period",
        "value",
        "threshold",
        "unit",
        "percentUsed",
        "contributors",
        "message",
        "link",
        "summary",
    }
    assert (body["version"], body["type"], body["test"]) == (1, "alert.fired", False)
    assert (body["firingId"], body["deliveryId"]) == (firing, ids["webhook"])
    assert body["firedAt"] == "2026-12-07T15:00:00Z"
    assert body["rule"] == {"id": rule, "name": "Acme daily spend", "type": "daily_limit"}
    assert body["level"] == "CRITICAL"
    assert body["scope"]["orgId"] == "acme" and body["scope"]["model"] is None
    assert body["period"]["start"] == "2026-12-07T00:00:00+01:00"
    assert (body["value"], body["threshold"], body["unit"]) == ("104.25", "100.00", "usd")
    assert [c["name"] for c in body["contributors"]] == ["gpt-4o", "claude-sonnet-4", "gpt-4o-mini"]
    assert body["link"] == f"{PUBLIC}/requests?orgId=acme&from=2026-12-07&to=2026-12-08"


def test_a_dead_slack_endpoint_does_not_stop_email_and_is_retried_until_it_is_back(
    ledger: Ledger, sending: Settings, mailbox: Mailbox, receiver: HttpReceiver
) -> None:
    receiver.down.add("/services/x")  # it drops every connection unanswered
    rule = add_rule(ledger.engine)
    _, ids = fire(
        ledger.engine,
        rule,
        {"slack": receiver.url("/services/x"), "email": "ops@acme.example"},
    )
    assert deliver_due(ledger, sending, now_us=T0) == 1
    assert len(mailbox.mails) == 1
    row = delivery(ledger.engine, ids["slack"])
    assert (row.status, row.attempts, row.next_attempt_us) == ("pending", 1, T0 + 30 * S)
    (failed,) = attempts(ledger.engine, ids["slack"])
    assert not failed.ok and "RemoteProtocolError" in failed.detail
    assert row.last_error == failed.detail

    assert deliver_due(ledger, sending, now_us=T0 + 29 * S) == 0  # not due yet
    assert len(attempts(ledger.engine, ids["slack"])) == 1

    receiver.down.clear()
    receiver.status["/services/x"] = 503  # up, but failing
    assert deliver_due(ledger, sending, now_us=T0 + 30 * S) == 0
    row = delivery(ledger.engine, ids["slack"])
    assert (row.attempts, row.next_attempt_us) == (2, T0 + 90 * S)
    assert row.last_error == "HTTP 503: no_service"

    receiver.status.clear()  # back
    assert deliver_due(ledger, sending, now_us=T0 + 90 * S) == 1
    assert len(receiver.at("/services/x")) == 2  # the 503 and this one (the dead one is not kept)
    row = delivery(ledger.engine, ids["slack"])
    assert (row.status, row.attempts, row.sent_us) == ("sent", 3, T0 + 90 * S)
    assert [a.ok for a in attempts(ledger.engine, ids["slack"])] == [False, False, True]
    assert len(mailbox.mails) == 1  # the email was never sent again


def test_a_delivery_is_given_up_after_about_an_hour_of_retries(
    ledger: Ledger, sending: Settings
) -> None:
    rule = add_rule(ledger.engine)
    dead = f"http://127.0.0.1:{free_port()}/hook"
    _, ids = fire(ledger.engine, rule, {"webhook": dead})
    now = T0
    for _ in range(100):
        deliver_due(ledger, sending, now_us=now)
        row = delivery(ledger.engine, ids["webhook"])
        if row.status != "pending":
            break
        now = row.next_attempt_us
    assert row.status == "given_up"
    tries = attempts(ledger.engine, ids["webhook"])
    assert len(tries) == row.attempts == 9
    assert tries[-1].attempt_us - tries[0].attempt_us == GIVE_UP_SECONDS * S
    assert 55 * 60 <= GIVE_UP_SECONDS <= 65 * 60
    assert not any(a.ok for a in tries)
    assert deliver_due(ledger, sending, now_us=now + 10 * 3600 * S) == 0
    assert len(attempts(ledger.engine, ids["webhook"])) == 9


def test_private_destinations_are_refused_at_send_time_and_recorded(
    ledger: Ledger, sending: Settings, receiver: HttpReceiver
) -> None:
    strict = sending.model_copy(update={"allow_private_webhooks": False})
    rule = add_rule(ledger.engine)
    _, ids = fire(
        ledger.engine,
        rule,
        {
            "slack": receiver.url("/slack").replace("http:", "https:"),
            "webhook": "https://inside.example.com/hook",
        },
    )
    inside = {"inside.example.com": ["10.0.0.8"]}
    sent = deliver_due(ledger, strict, now_us=T0, resolver=lambda host, port: inside[host])
    assert sent == 0
    assert receiver.requests == []
    (slack,) = attempts(ledger.engine, ids["slack"])
    assert slack.detail.startswith("refused: the webhook host '127.0.0.1' is a private")
    (hook,) = attempts(ledger.engine, ids["webhook"])
    assert "resolves to 10.0.0.8" in hook.detail


def test_redirects_are_not_followed(
    ledger: Ledger, sending: Settings, receiver: HttpReceiver
) -> None:
    receiver.status["/hook"] = 302
    receiver.redirect["/hook"] = receiver.url("/internal-admin")
    rule = add_rule(ledger.engine)
    _, ids = fire(ledger.engine, rule, {"webhook": receiver.url("/hook")})
    assert deliver_due(ledger, sending, now_us=T0) == 0
    assert [r.path for r in receiver.requests] == ["/hook"]
    (attempt,) = attempts(ledger.engine, ids["webhook"])
    assert attempt.detail == "HTTP 302: no_service (redirects are not followed)"


def test_email_without_an_smtp_server_configured_fails_clearly(
    ledger: Ledger, settings: Settings
) -> None:
    rule = add_rule(ledger.engine)
    _, ids = fire(ledger.engine, rule, {"email": "ops@acme.example"})
    assert deliver_due(ledger, settings, now_us=T0) == 0
    (attempt,) = attempts(ledger.engine, ids["email"])
    assert attempt.detail == "LLMLEDGER_SMTP_HOST is not set"


def test_starttls_is_required_when_asked_for(
    ledger: Ledger, sending: Settings, mailbox: Mailbox
) -> None:
    """The mailbox offers no STARTTLS: the mail is not sent in plain text instead."""
    rule = add_rule(ledger.engine)
    _, ids = fire(ledger.engine, rule, {"email": "ops@acme.example"})
    starttls = sending.model_copy(update={"smtp_security": "starttls"})
    assert deliver_due(ledger, starttls, now_us=T0) == 0
    assert mailbox.mails == []
    (attempt,) = attempts(ledger.engine, ids["email"])
    assert "STARTTLS" in attempt.detail


def test_the_test_button_sends_a_marked_message_to_every_channel(
    ledger: Ledger, sending: Settings, mailbox: Mailbox, receiver: HttpReceiver
) -> None:
    rule = {
        "id": 12,
        "name": "Acme monthly",
        "alertType": "monthly_limit",
        "orgId": "acme",
        "thresholdCents": 123_456,
        "notificationEmails": ["ops@acme.example"],
        "slackWebhookUrl": receiver.url("/slack"),
        "webhookUrl": receiver.url("/hook"),
        "webhookSecret": SECRET,
        "timezone": "UTC",
    }
    results = send_test(rule, sending)
    assert [(r.channel, r.ok) for r in results] == [
        ("email", True),
        ("slack", True),
        ("webhook", True),
    ]
    assert results[1].target == "****lack" and results[2].target == "****hook"
    (mail,) = mailbox.mails
    assert mail.message["Subject"].startswith("[llmledger] TEST — CRITICAL: Acme monthly")
    assert "TEST MESSAGE" in mail.part("plain") and "$1,234.56" in mail.part("plain")
    (slack,) = receiver.at("/slack")
    assert orjson.loads(slack.body)["text"].startswith("TEST — ")
    (hook,) = receiver.at("/hook")
    body = orjson.loads(hook.body)
    assert (body["type"], body["test"], body["deliveryId"]) == ("alert.test", True, None)
    assert hook.headers["X-LLMLedger-Event"] == "alert.test"
    assert verify(SECRET, hook.body, hook.headers["X-LLMLedger-Signature"])


def test_the_test_button_reports_each_channels_failure(ledger: Ledger, sending: Settings) -> None:
    rule = {
        "name": "Broken",
        "alert_type": "daily_limit",
        "threshold_cents": 100,
        "notification_emails": ["bad@@example.com"],
        "slack_webhook_url": f"http://127.0.0.1:{free_port()}/dead",
        "webhook_url": "http://127.0.0.1/hook",
        "webhook_secret": None,
    }
    results = send_test(rule, sending)
    assert [(r.channel, r.ok) for r in results] == [
        ("email", False),
        ("slack", False),
        ("webhook", False),
    ]
    assert "more than one address" in results[0].detail
    assert "ConnectError" in results[1].detail
    assert results[2].detail == "the rule has no webhook signing secret"
