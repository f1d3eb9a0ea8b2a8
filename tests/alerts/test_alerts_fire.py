"""Firing: a crossing writes its firing and one outbox row per channel in one transaction, at
most once per period, level and repeat key, even with two evaluator processes racing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from llmledger.alerts.check import check
from llmledger.alerts.rulebook import make_rule
from llmledger.alerts.rules import Rule
from llmledger.alerts.tables import alert_deliveries, alert_firings, alert_rules
from llmledger.auth.audit import cli_audit
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.alerts.racing import race
from tests.alerts.support import spend, utc

CHANNELS = {
    "notificationEmails": ["ops@example.com", "finance@example.com"],
    "slackWebhookUrl": "https://127.0.0.1:9/slack/T000/B000/XXXXsecretpath",
    "webhookUrl": "https://127.0.0.1:9/hook",
}


def only_rule(ledger: Ledger, **fields: Any) -> Rule:
    """``fields`` as the one active rule (the seeded defaults are switched off)."""
    with ledger.engine.begin() as conn:
        conn.execute(alert_rules.update().values(is_active=False))
    body = {"name": "Acme daily", "alertType": "daily_limit", "thresholdCents": 10_000, **fields}
    return make_rule(ledger.engine, body, audit=cli_audit(), allow_private=True)


def firings(ledger: Ledger) -> list[dict[str, Any]]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(alert_firings).order_by(alert_firings.c.id)).all()
        out = []
        for r in rows:
            deliveries = conn.execute(
                select(alert_deliveries.c.channel, alert_deliveries.c.target)
                .where(alert_deliveries.c.firing_id == r.id)
                .order_by(alert_deliveries.c.channel)
            ).all()
            out.append({**r._mapping, "deliveries": [tuple(d) for d in deliveries]})
        return out


def test_a_crossing_fires_once_per_level_with_a_row_per_channel(ledger: Ledger) -> None:
    rule = only_rule(ledger, orgId="acme", timezone="Europe/Berlin", **CHANNELS)
    day = utc(2026, 12, 7, 8)
    spend(ledger, day, "79.99", org_id="acme", model="gpt-4o")
    spend(ledger, day, "500", org_id="other")
    assert check(ledger.engine, now=day + dt.timedelta(minutes=1)).fired == []
    spend(ledger, day, "0.01", org_id="acme", agent="support")
    first = check(ledger.engine, now=day + dt.timedelta(minutes=2))
    assert len(first.fired) == 1
    for minute in range(3, 10):  # later checks of the same day: nothing new
        assert check(ledger.engine, now=day + dt.timedelta(minutes=minute)).fired == []
    spend(ledger, day + dt.timedelta(hours=1), "20", org_id="acme")
    assert len(check(ledger.engine, now=day + dt.timedelta(hours=2)).fired) == 1
    assert check(ledger.engine, now=day + dt.timedelta(hours=3)).fired == []
    warning, critical = firings(ledger)
    assert [warning["level"], critical["level"]] == ["WARNING", "CRITICAL"]
    assert warning["period_key"] == critical["period_key"] == "2026-12-07"
    assert warning["deliveries"] == [
        ("email", "ops@example.com, finance@example.com"),
        ("slack", CHANNELS["slackWebhookUrl"]),
        ("webhook", CHANNELS["webhookUrl"]),
    ]
    d = warning["details"]
    assert d["ruleId"] == rule.id and d["level"] == "WARNING" and d["scope"] == {"orgId": "acme"}
    assert (d["value"], d["threshold"], d["unit"], d["percentUsed"]) == (80.0, 100.0, "usd", 80.0)
    assert (d["valueNanos"], d["thresholdNanos"]) == (80 * 10**9, 100 * 10**9)
    assert d["period"] == {
        "key": "2026-12-07",
        "start": "2026-12-06T23:00:00Z",
        "end": "2026-12-07T23:00:00Z",
        "timezone": "Europe/Berlin",
    }
    assert d["contributors"] == [
        {"dimension": "model", "name": "openai/gpt-4o", "value": 79.99, "share": 99.99},
        {"dimension": "model", "name": "openai/gpt-4o-mini", "value": 0.01, "share": 0.01},
    ]
    assert d["link"] == (
        "/admin/llm-costs?startDate=2026-12-06T23%3A00%3A00Z"
        "&endDate=2026-12-07T08%3A02%3A00Z&orgId=acme"
    )
    assert d["message"].startswith("WARNING: Acme daily: $80.00 of $100.00 (80%) spent on")
    assert "for orgId acme" in d["message"]
    assert critical["details"]["value"] == 100.0
    # the next day in Berlin starts over
    spend(ledger, utc(2026, 12, 7, 23), "100", org_id="acme")
    assert len(check(ledger.engine, now=utc(2026, 12, 7, 23, 30)).fired) == 1
    assert firings(ledger)[-1]["period_key"] == "2026-12-08"


def test_a_jump_past_the_threshold_fires_critical_only(ledger: Ledger) -> None:
    only_rule(ledger, **CHANNELS)
    spend(ledger, utc(2026, 12, 7, 8), "150")
    assert len(check(ledger.engine, now=utc(2026, 12, 7, 9)).fired) == 1
    assert [f["level"] for f in firings(ledger)] == ["CRITICAL"]


def test_frequencies_repeat_a_lasting_crossing(ledger: Ledger) -> None:
    only_rule(ledger, notificationFrequency="hourly", notificationEmails=["a@example.com"])
    spend(ledger, utc(2026, 12, 7, 1), "150")
    for minute in range(0, 180, 20):
        check(ledger.engine, now=utc(2026, 12, 7, 2) + dt.timedelta(minutes=minute))
    assert [f["repeat_key"] for f in firings(ledger)] == [
        "2026-12-07T02Z",
        "2026-12-07T03Z",
        "2026-12-07T04Z",
    ]
    with ledger.engine.begin() as conn:
        conn.execute(alert_rules.update().values(notification_frequency="every_check"))
    for second in range(3):
        check(ledger.engine, now=utc(2026, 12, 7, 5, 0, second))
    assert len(firings(ledger)) == 6


def test_a_rule_without_channels_fires_with_no_outbox_rows(ledger: Ledger) -> None:
    only_rule(ledger)
    spend(ledger, utc(2026, 12, 7, 8), "85")
    assert len(check(ledger.engine, now=utc(2026, 12, 7, 9)).fired) == 1
    assert firings(ledger)[0]["deliveries"] == []


def _race(settings: Settings, tmp: Path, now: dt.datetime, name: str) -> list[int]:
    """Two evaluator processes released at once, each running 5 rounds at ``now``."""
    done = race(settings, tmp / f"go-{name}", "check", now)
    return [rule_id for d in done for rule_id in d["fired"]]


def test_two_evaluator_processes_fire_each_level_once(
    ledger: Ledger, settings: Settings, tmp_path: Path
) -> None:
    only_rule(ledger, **CHANNELS)
    day = utc(2026, 12, 7)
    spend(ledger, day + dt.timedelta(hours=1), "85")
    assert len(_race(settings, tmp_path, day + dt.timedelta(hours=2), "warning")) == 1
    spend(ledger, day + dt.timedelta(hours=3), "15")
    assert len(_race(settings, tmp_path, day + dt.timedelta(hours=4), "critical")) == 1
    found = firings(ledger)
    assert [f["level"] for f in found] == ["WARNING", "CRITICAL"]
    for f in found:
        assert [d[0] for d in f["deliveries"]] == ["email", "slack", "webhook"]
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alert_deliveries)).scalar() == 6
