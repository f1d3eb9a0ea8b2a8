"""Alert processes racing on one database (SQLite and PostgreSQL): evaluators that also
deliver, and senders, released at once. The database decides who fires and who sends, so
every message arrives once, at the real SMTP and HTTP receivers the tests read."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import orjson
from sqlalchemy import func, select

from llmledger.alerts.tables import alert_deliveries, alert_delivery_attempts
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.alerts.outbox import T0, add_rule, fire
from tests.alerts.racing import race, sending_env
from tests.alerts.receivers import HttpReceiver, Mailbox
from tests.alerts.support import spend, utc
from tests.alerts.test_alerts_fire import only_rule

PUBLIC = "https://ledger.example.com"


def test_a_daily_limit_crossed_with_two_evaluators_sends_one_warning_and_one_critical_per_channel(
    ledger: Ledger, settings: Settings, tmp_path: Path, mailbox: Mailbox, receiver: HttpReceiver
) -> None:
    only_rule(
        ledger,
        orgId="acme",
        timezone="Europe/Berlin",
        notificationEmails=["ops@acme.example"],
        slackWebhookUrl=receiver.url("/slack"),
        webhookUrl=receiver.url("/hook"),
    )
    env = sending_env(mailbox, PUBLIC)
    rounds = iter(range(100))

    def both_at(now: dt.datetime) -> tuple[int, int]:
        done = race(settings, tmp_path / f"go-{next(rounds)}", "round", now, times=3, env=env)
        return sum(len(d["fired"]) for d in done), sum(d["sent"] for d in done)

    day = utc(2026, 12, 7)  # Berlin's day runs from 2026-12-06T23:00Z
    spend(ledger, day + dt.timedelta(hours=8), "50", org_id="acme")
    assert both_at(day + dt.timedelta(hours=8, minutes=30)) == (0, 0)
    spend(ledger, day + dt.timedelta(hours=9), "35", org_id="acme")  # 85 %: WARNING
    assert both_at(day + dt.timedelta(hours=9, minutes=30)) == (1, 3)
    assert both_at(day + dt.timedelta(hours=10)) == (0, 0)
    spend(ledger, day + dt.timedelta(hours=10, minutes=15), "20", org_id="acme")  # CRITICAL
    assert both_at(day + dt.timedelta(hours=10, minutes=30)) == (1, 3)
    assert both_at(day + dt.timedelta(hours=22, minutes=30)) == (0, 0)  # 23:30 in Berlin

    assert [m.message["Subject"].split(":")[0] for m in mailbox.mails] == [
        "[llmledger] WARNING",
        "[llmledger] CRITICAL",
    ]
    assert [orjson.loads(r.body)["text"].split(":")[0] for r in receiver.at("/slack")] == [
        "WARNING",
        "CRITICAL",
    ]
    hooks = [orjson.loads(r.body) for r in receiver.at("/hook")]
    assert [(h["level"], h["period"]["key"]) for h in hooks] == [
        ("WARNING", "2026-12-07"),
        ("CRITICAL", "2026-12-07"),
    ]
    assert hooks[0]["link"].startswith(f"{PUBLIC}/admin/llm-costs?")


def test_two_sender_processes_deliver_each_outbox_row_once(
    ledger: Ledger, settings: Settings, tmp_path: Path, mailbox: Mailbox, receiver: HttpReceiver
) -> None:
    rule = add_rule(ledger.engine)
    expected = set()
    for day in range(1, 31):
        _, ids = fire(
            ledger.engine,
            rule,
            {"email": f"ops{day}@acme.example", "webhook": receiver.url("/hook")},
            period_key=f"2026-11-{day:02d}",
        )
        expected.add(str(ids["webhook"]))
    at = dt.datetime.fromtimestamp(T0 / 1_000_000, dt.UTC)
    env = sending_env(mailbox, PUBLIC)
    done = race(settings, tmp_path / "go", "deliver", at, times=3, env=env)
    assert sum(d["sent"] for d in done) == 60
    hooks = receiver.at("/hook")
    assert len(hooks) == 30
    assert {r.headers["X-LLMLedger-Delivery"] for r in hooks} == expected
    assert sorted(to for m in mailbox.mails for to in m.rcpt_tos) == sorted(
        f"ops{day}@acme.example" for day in range(1, 31)
    )
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(alert_deliveries.c.status, alert_deliveries.c.attempts)).all()
        tries = conn.execute(select(func.count()).select_from(alert_delivery_attempts)).scalar()
    assert Counter(tuple(r) for r in rows) == {("sent", 1): 60}
    assert tries == 60
