"""The reconciliation_drift alert on SQLite and PostgreSQL: provider report rows planted
against tracked events so that one day and model drifts. The rule fires once per provider,
day and level (not again on later rounds) to a real SMTP server and a real HTTP receiver; a
range without drift, a day not imported and a day imported only while it went on never fire;
the threshold and warning share decide the level. The clock is injected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from llmledger.alerts.check import check
from llmledger.alerts.evaluate import Evaluation, evaluate
from llmledger.alerts.fire import message
from llmledger.alerts.loop import alert_round
from llmledger.alerts.rulebook import make_rule
from llmledger.alerts.signing import verify
from llmledger.alerts.tables import alert_firings, alert_rules
from llmledger.auth.audit import cli_audit
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.alerts import drift_support as ds
from tests.alerts.drift_support import BIG, DAY, NOW, day, drift_rule, plant
from tests.alerts.receivers import HttpReceiver, Mailbox
from tests.alerts.support import rule

PUBLIC = "https://ledger.example.com"


def only(ledger: Ledger, **fields: Any) -> int:
    """``fields`` as the one active rule (the seeded defaults are switched off)."""
    with ledger.engine.begin() as conn:
        conn.execute(alert_rules.update().values(is_active=False))
    made = make_rule(ledger.engine, drift_rule(**fields), audit=cli_audit(), allow_private=True)
    return made.id


def firings(ledger: Ledger) -> list[Any]:
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(alert_firings).order_by(alert_firings.c.id)))


def state(ledger: Ledger, now: dt.datetime = NOW, **fields: Any) -> Evaluation:
    with ledger.engine.connect() as conn:
        (ev,) = evaluate(conn, [rule(**drift_rule(**fields))], now=now)
    return ev


def test_a_drifting_day_and_model_fires_once_by_email_and_webhook(
    ledger: Ledger, settings: Settings, mailbox: Mailbox, receiver: HttpReceiver
) -> None:
    sending = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "smtp_from": "alerts@ledger.example.com",
            "allow_private_webhooks": True,
            "public_url": PUBLIC,
        }
    )
    rule_id = only(
        ledger, notificationEmails=["finance@example.com"], webhookUrl=receiver.url("/hook")
    )
    with ledger.engine.connect() as conn:
        secret = conn.execute(
            select(alert_rules.c.webhook_secret).where(alert_rules.c.id == rule_id)
        ).scalar_one()
    plant(ledger)

    first = alert_round(ledger.engine, sending, now=NOW)
    assert len(first.fired) == 1 and first.sent == 2
    for later in (NOW + dt.timedelta(minutes=1), NOW + dt.timedelta(hours=5), NOW + DAY_DELTA):
        again = alert_round(ledger.engine, sending, now=later)
        assert again.fired == [] and again.sent == 0, later

    (firing,) = firings(ledger)
    assert (firing.rule_id, firing.period_key, firing.level) == (
        rule_id,
        f"{day(2)} openai",
        "CRITICAL",
    )
    details = firing.details
    (model,) = details["figures"]["models"]
    assert (model["model"], model["cause"], model["level"]) == (BIG, "price", "CRITICAL")
    assert (model["trackedCostUsd"], model["billedCostUsd"], model["costDiffUsd"]) == (2, 3, 1)
    assert (model["trackedTokens"], model["reportedTokens"]) == (3000, 3000)
    assert details["period"]["start"] == f"{day(2)}T00:00:00Z"
    assert details["value"] == pytest.approx(33.33) and details["threshold"] == 2
    assert details["contributors"][0]["name"] == "openai/gpt-4o"
    assert "provider=openai" in details["link"] and "model=gpt-4o" in details["link"]

    said = (
        f"openai on {day(2)} (UTC): gpt-4o tracked $2.00, billed $3.00 (difference $1.00, "
        "33.3% of the billed; tokens 3,000 tracked, 3,000 reported), likely cause: price "
        "(tokens match but the cost differs: a wrong or missing price)"
    )
    assert said in details["message"] and "estimate" not in details["message"]
    (mail,) = mailbox.mails
    assert mail.rcpt_tos == ["finance@example.com"]
    assert mail.message["Subject"].startswith("[llmledger] CRITICAL: Invoice drift — 33.3% of 2%")
    text = mail.part("plain")
    assert said in text and "Alert: Reconciliation drift (CRITICAL)" in text
    assert f"Period: {day(2)} openai ({day(2)} 00:00 to {day(3)} 00:00 UTC)" in text
    assert "model openai/gpt-4o: $1.00" in text
    assert f"Dashboard: {PUBLIC}/admin/llm-costs/requests?" in text
    (hook,) = receiver.at("/hook")
    assert verify(secret, hook.body, hook.headers["X-LLMLedger-Signature"])
    body = orjson.loads(hook.body)
    assert body["rule"]["type"] == "reconciliation_drift" and body["level"] == "CRITICAL"
    assert body["period"]["key"] == f"{day(2)} openai" and body["unit"] == "percent"
    assert said in body["message"]


DAY_DELTA = dt.timedelta(days=1)


def test_a_range_without_drift_never_fires(ledger: Ledger) -> None:
    only(ledger)
    plant(ledger, mispriced=False)
    for hours in range(0, 24 * 4, 7):
        assert check(ledger.engine, now=NOW + dt.timedelta(hours=hours)).fired == []
    ev = state(ledger)
    assert (ev.state, ev.value, ev.extra["settledDays"], ev.extra["drifts"]) == ("OK", 0.0, 5, [])
    assert ev.period.key == f"{day(0)}..{day(6)}"  # the week before the check's day
    assert "no drift above 2%" in message(ev, ev.state)
    assert firings(ledger) == []


def test_days_not_imported_or_imported_while_they_went_on_never_fire(ledger: Ledger) -> None:
    only(ledger)
    plant(ledger, mispriced=False)  # days 5 and 6 tracked (a lot), no import covered them
    # Anthropic's day 4, imported at its noon: the report holds half of it
    ds.reported(ledger.engine, "anthropic", 4, "claude-haiku-4-5", (5000, 0), "5")
    ds.imported(ledger.engine, "anthropic", 4, 4, finished=4 * DAY + 12 * 3600)
    # today (day 7), imported an hour ago: never counted, whatever it holds
    ds.reported(ledger.engine, "openai", 7, BIG, (9000, 0), "9")
    ds.imported(ledger.engine, "openai", 7, 7, finished=7 * DAY + 8 * 3600)
    # day 3 drifts in a report whose import failed
    ds.reported(ledger.engine, "anthropic", 3, "claude-haiku-4-5", (7000, 0), "7")
    ds.imported(ledger.engine, "anthropic", 3, 3, finished=5 * DAY, state="failed")
    assert check(ledger.engine, now=NOW).fired == []
    assert state(ledger).state == "OK"

    # once an import made after day 4 ended covers it, its drift counts
    ds.imported(ledger.engine, "anthropic", 4, 4, finished=5 * DAY + 3600)
    fired = check(ledger.engine, now=NOW).fired
    (firing,) = firings(ledger)
    assert fired == [firing.id] and firing.period_key == f"{day(4)} anthropic"
    (model,) = firing.details["figures"]["models"]
    assert (model["model"], model["cause"]) == ("claude-haiku-4-5", "untracked")
    assert check(ledger.engine, now=NOW + dt.timedelta(minutes=5)).fired == []


def test_the_threshold_and_the_warning_share_decide_the_level(ledger: Ledger) -> None:
    plant(ledger)  # gpt-4o on day 2: 33.33% apart
    assert state(ledger).state == "CRITICAL"  # the setting's default, 2%
    assert state(ledger, thresholdPercent=30).state == "CRITICAL"
    warning = state(ledger, thresholdPercent=40)  # warning from 32%
    assert (warning.state, warning.threshold, warning.percent_used) == ("WARNING", 40, 83.33)
    (part,) = warning.findings
    assert part.state == "WARNING" and part.period.key == f"{day(2)} openai"
    assert state(ledger, thresholdPercent=40, warningPercent=100).state == "OK"
    assert state(ledger, thresholdPercent=50).state == "OK"
    assert state(ledger, provider="anthropic").state == "OK"  # another provider's drift
    assert state(ledger, provider="openai").state == "CRITICAL"
    # a rule without its own threshold follows LLMLEDGER_RECONCILIATION_DRIFT_PERCENT
    with ledger.engine.connect() as conn:
        (ev,) = evaluate(conn, [rule(**drift_rule())], now=NOW, drift_percent=Decimal("40"))
    assert (ev.state, ev.threshold) == ("WARNING", 40)
    assert ev.extra["thresholdFrom"] == "LLMLEDGER_RECONCILIATION_DRIFT_PERCENT"
    # the week moves on: day 2 leaves the window
    assert state(ledger, now=NOW + dt.timedelta(days=6)).state == "OK"


def test_a_warning_then_a_critical_fire_once_each(ledger: Ledger) -> None:
    only(ledger, thresholdPercent=40)
    plant(ledger)
    assert len(check(ledger.engine, now=NOW).fired) == 1
    # the price was fixed and re-imported worse: the same day crosses the threshold too
    with ledger.engine.begin() as conn:
        conn.execute(alert_rules.update().values(threshold_percent=30))
    assert len(check(ledger.engine, now=NOW + dt.timedelta(hours=1)).fired) == 1
    assert check(ledger.engine, now=NOW + dt.timedelta(hours=2)).fired == []
    assert [(f.period_key, f.level) for f in firings(ledger)] == [
        (f"{day(2)} openai", "WARNING"),
        (f"{day(2)} openai", "CRITICAL"),
    ]


def test_a_groq_drift_says_its_billed_figures_are_estimates(ledger: Ledger) -> None:
    ds.reported(ledger.engine, "groq", 1, "llama-3.3-70b-versatile", (5000, 1000), "0.5")
    ds.tracked(ledger, "groq", 1, "llama-3.3-70b-versatile", (3000, 1000), "0.3")
    ds.imported(ledger.engine, "groq", 0, 4, finished=5 * DAY)
    ev = state(ledger)
    assert ev.state == "CRITICAL"
    (part,) = ev.findings
    said = message(part, part.state)
    assert f"groq on {day(1)} (UTC): llama-3.3-70b-versatile tracked $0.30, billed $0.50" in said
    assert "likely cause: untracked" in said
    assert "Groq reports no cost: its billed figures are llmledger's estimates" in said
    assert "estimates" in message(ev, ev.state) and f"groq on {day(1)}" in message(ev, ev.state)
