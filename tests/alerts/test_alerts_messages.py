"""What messages say: figures, scope, period in the rule's zone, contributors, the link, and a
test message marked as one; names from users are escaped in HTML and Slack."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from llmledger.alerts.messages import (
    amount_text,
    email_content,
    notice,
    period_text,
    slack_payload,
    webhook_body,
)


def details(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ruleId": 7,
        "ruleName": "Acme <daily> & co",
        "alertType": "daily_limit",
        "level": "CRITICAL",
        "scope": {"orgId": "acme", "model": "gpt-4o"},
        "period": {
            "key": "2026-12-07",
            "start": "2026-12-07T00:00:00+01:00",
            "end": "2026-12-08T00:00:00+01:00",
            "timezone": "Europe/Paris",
        },
        "value": "123.456789",
        "threshold": "100",
        "unit": "usd",
        "percentUsed": 123.5,
        "contributors": [
            {"dimension": "agent", "name": "<script>", "value": "80.1"},
            {"dimension": "agent", "name": "summariser", "value": "30"},
            {"dimension": "agent", "name": "triage", "value": "13.35"},
            {"dimension": "agent", "name": "fourth", "value": "0.01"},
        ],
        "link": "/requests?orgId=acme&from=2026-12-07",
        "message": "Daily spend $123.46 is above the limit of $100.00",
    }
    base.update(over)
    return base


def test_amounts_and_percentages_read_well() -> None:
    assert amount_text("1234.567", "usd") == "$1,234.57"
    assert amount_text("0.000042", "usd") == "$0.000042"  # a fraction of a cent
    assert amount_text(0, "usd") == "$0.00"
    assert amount_text(12.54, "percent") == "12.5%"
    assert amount_text(None, "usd") == "—"


def test_the_period_is_shown_in_the_rules_zone_whatever_form_it_came_in() -> None:
    start = int(dt.datetime(2026, 12, 6, 23, tzinfo=dt.UTC).timestamp() * 1_000_000)
    end = start + 86_400_000_000
    period = {"key": "2026-12-07", "start": start, "end": end, "timezone": "Europe/Paris"}
    expected = "2026-12-07 (2026-12-07 00:00 to 2026-12-08 00:00 Europe/Paris)"
    assert period_text(period) == expected
    assert period_text(details()["period"]) == expected


def test_the_email_says_what_crossed_and_escapes_names_in_html() -> None:
    subject, text, html = email_content(notice(details(), public_url="https://ll.example.com/"))
    assert subject == ("[llmledger] CRITICAL: Acme <daily> & co — $123.46 of $100.00 (123.5% used)")
    for line in (
        "Scope: organisation acme, model gpt-4o",
        "Value: $123.46",
        "Threshold: $100.00",
        "Period: 2026-12-07 (2026-12-07 00:00 to 2026-12-08 00:00 Europe/Paris)",
        "  1. agent <script>: $80.10",
        "  3. agent triage: $13.35",
        "Dashboard: https://ll.example.com/requests?orgId=acme&from=2026-12-07",
    ):
        assert line in text.splitlines()
    assert "fourth" not in text  # the top three only
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Acme &lt;daily&gt; &amp; co" in html
    assert 'href="https://ll.example.com/requests?orgId=acme&amp;from=2026-12-07"' in html
    assert "TEST" not in subject + text + html


def test_a_test_message_is_marked_in_every_form() -> None:
    n = notice(details(), public_url=None, test=True)
    subject, text, html = email_content(n)
    assert subject.startswith("[llmledger] TEST — CRITICAL")
    assert text.startswith("*** TEST MESSAGE")
    assert "TEST MESSAGE" in html
    assert slack_payload(n)["text"].startswith("TEST — ")
    body = orjson.loads(webhook_body(n, firing_id=None, delivery_id=None, fired_us=0))
    assert body["test"] is True and body["type"] == "alert.test"


def test_slack_escapes_its_control_characters() -> None:
    payload = slack_payload(notice(details(), public_url="https://ll.example.com"))
    everything = orjson.dumps(payload).decode()
    assert "<script>" not in everything and "&lt;script&gt;" in everything
    assert "<https://ll.example.com/requests?orgId=acme&from=2026-12-07|" in everything


def test_the_webhook_body_has_the_documented_fields() -> None:
    n = notice(details(), public_url="https://ll.example.com")
    fired = dt.datetime(2026, 12, 7, 9, 30, 5, tzinfo=dt.UTC)
    fired_us = int(fired.timestamp()) * 1_000_000
    body = orjson.loads(webhook_body(n, firing_id=3, delivery_id=9, fired_us=fired_us))
    assert body["version"] == 1 and body["type"] == "alert.fired" and body["test"] is False
    assert (body["firingId"], body["deliveryId"]) == (3, 9)
    assert body["firedAt"] == "2026-12-07T09:30:05Z"
    assert body["rule"] == {"id": 7, "name": "Acme <daily> & co", "type": "daily_limit"}
    assert body["scope"] == {
        "orgId": "acme",
        "agent": None,
        "userId": None,
        "provider": None,
        "model": "gpt-4o",
    }
    assert body["period"] == {
        "key": "2026-12-07",
        "start": "2026-12-07T00:00:00+01:00",
        "end": "2026-12-08T00:00:00+01:00",
        "timezone": "Europe/Paris",
    }
    assert (body["value"], body["threshold"], body["unit"]) == ("123.456789", "100", "usd")
    assert len(body["contributors"]) == 3
    assert body["link"] == "https://ll.example.com/requests?orgId=acme&from=2026-12-07"
