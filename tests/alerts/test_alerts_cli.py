"""``llmledger alerts list | check | test ID | history`` in process, on the test's database,
sending to a real SMTP server and HTTP receiver."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from llmledger.auth.tables import audit_log
from llmledger.cli import main
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.alerts.racing import sending_env
from tests.alerts.receivers import HttpReceiver, Mailbox, free_port
from tests.alerts.support import spend
from tests.alerts.test_alerts_fire import only_rule


@pytest.fixture
def env(settings: Settings, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "LLMLEDGER_DATA_DIR": str(settings.data_dir),
        "LLMLEDGER_DATABASE_URL": settings.resolved_database_url,
        **sending_env(mailbox, "https://ledger.example.com"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, ["alerts", *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_list_check_and_history(
    ledger: Ledger, env: dict[str, str], mailbox: Mailbox, receiver: HttpReceiver
) -> None:
    rule = only_rule(
        ledger, notificationEmails=["ops@acme.example"], slackWebhookUrl=receiver.url("/slack")
    )
    spend(ledger, dt.datetime.now(dt.UTC), "150")
    listed = run("list").output.splitlines()
    assert len(listed) == 4  # the three seeded defaults (switched off) and the rule
    assert "off" in listed[0] and "Daily Global Spend Alert" in listed[0]
    mine = listed[3].split()
    assert mine[:2] == [str(rule.id), "CRITICAL"]
    assert "$150.00 of $100.00" in listed[3] and "channels: email(1),slack" in listed[3]
    as_json = json.loads(run("list", "--json").output)
    assert [r["state"] for r in as_json] == [None, None, None, "CRITICAL"]
    assert as_json[3]["slackWebhookUrl"].startswith("****")

    out = run("check").output
    assert f"{rule.id:>5}  CRITICAL: Acme daily: $150.00 of $100.00" in out
    assert out.splitlines()[-1] == (
        "1 rules: 0 OK, 0 WARNING, 1 CRITICAL; 1 fired now; 2 messages sent"
    )
    assert len(mailbox.mails) == 1 and len(receiver.at("/slack")) == 1
    assert run("check").output.splitlines()[-1].endswith("; 0 fired now; 0 messages sent")
    assert len(mailbox.mails) == 1

    history = run("history").output.splitlines()
    assert history[0].startswith("#1 ") and "CRITICAL: Acme daily" in history[0]
    assert history[1].split() == ["email", "ops@acme.example:", "sent", "(1", "attempts)"]
    assert history[2].split()[0] == "slack" and "sent (1 attempts)" in history[2]
    assert json.loads(run("history", "--json", "--level", "WARNING").output) == []
    assert json.loads(run("history", "--json", "--rule", str(rule.id)).output)[0]["id"] == 1


def test_test_sends_to_every_channel_and_says_which_failed(
    ledger: Ledger, env: dict[str, str], mailbox: Mailbox
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/slack"
    rule = only_rule(ledger, notificationEmails=["ops@acme.example"], slackWebhookUrl=dead)
    out = run("test", str(rule.id), code=1).output.splitlines()
    assert out[0] == "email    ops@acme.example: ok (sent)"
    assert out[1].startswith("slack    ****lack: FAILED (ConnectError")
    (mail,) = mailbox.mails
    assert "TEST MESSAGE" in mail.part("plain")
    with ledger.engine.connect() as conn:
        (row,) = conn.execute(select(audit_log).where(audit_log.c.action == "alert.test")).all()
    assert row.actor_kind == "cli" and row.target == f"alert:{rule.id}"


def test_test_refuses_an_unknown_rule_and_one_without_channels(
    ledger: Ledger, env: dict[str, str]
) -> None:
    result = run("test", "999999", code=2)
    assert "no alert rule with id 999999" in result.output
    rule = only_rule(ledger)
    assert "has no channels" in run("test", str(rule.id), code=2).output


def test_a_drift_rule_is_listed_against_the_threshold_of_the_setting(
    ledger: Ledger, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.alerts.test_alerts_drift import only

    rule_id = only(ledger)
    monkeypatch.setenv("LLMLEDGER_RECONCILIATION_DRIFT_PERCENT", "7.5")
    (mine,) = [line for line in run("list").output.splitlines() if line.split()[0] == str(rule_id)]
    assert "OK" in mine and "[reconciliation_drift, global]" in mine and "0% of 7.5%" in mine
    (shown,) = [r for r in json.loads(run("list", "--json").output) if r["id"] == rule_id]
    assert shown["now"]["threshold"] == 7.5 and shown["thresholdPercent"] is None
