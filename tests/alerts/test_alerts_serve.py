"""The alert round inside the server: it fires and delivers in the background at the server's
clock, keeps going after a failing round, stops with the server, and a server killed between
firing and delivering delivers after its restart, each message once."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from llmledger.alerts.tables import alert_deliveries, alert_firings, alert_rules
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from tests.alerts.racing import sending_env
from tests.alerts.receivers import HttpReceiver, Mailbox, free_port, wait_until
from tests.alerts.support import spend, utc
from tests.alerts.test_alerts_fire import only_rule
from tests.conftest import Clock

PUBLIC = "https://ledger.example.com"
DAY = utc(2026, 12, 7)


def firings_of(ledger: Ledger, rule_id: int) -> list[Any]:
    with ledger.engine.connect() as conn:
        c = alert_firings.c
        return list(conn.execute(select(alert_firings).where(c.rule_id == rule_id)))


def looping(settings: Settings, mailbox: Mailbox) -> Settings:
    """The test's settings with a background round every 50 ms, sending to ``mailbox``."""
    return settings.model_copy(
        update={
            "alerts_interval_seconds": 0.05,
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "allow_private_webhooks": True,
            "public_url": PUBLIC,
        }
    )


def test_the_server_fires_and_delivers_in_the_background_and_stops_with_it(
    ledger: Ledger, settings: Settings, mailbox: Mailbox
) -> None:
    rule = only_rule(ledger, notificationEmails=["ops@acme.example"])
    spend(ledger, DAY + dt.timedelta(hours=8), "120")
    clock = Clock(DAY + dt.timedelta(hours=9))
    app = create_app(looping(settings, mailbox), ledger=ledger, clock=clock)
    with TestClient(app):
        loop = app.state.alert_loop
        wait_until(lambda: len(mailbox.mails) == 1, "the alert email")
        thread = loop._thread
        assert thread is not None and thread.is_alive()
        rounds = loop.rounds
        wait_until(lambda: loop.rounds >= rounds + 3, "three more rounds")
    assert not thread.is_alive()  # stopped with the server
    (firing,) = firings_of(ledger, rule.id)
    assert firing.details["firedAt"] == "2026-12-07T09:00:00Z"  # at the server's clock
    (mail,) = mailbox.mails
    assert "[llmledger] CRITICAL: Acme daily" in mail.message["Subject"]
    assert f"Dashboard: {PUBLIC}/admin/llm-costs?startDate=" in mail.part("plain")


def test_a_failing_round_is_logged_and_the_next_ones_still_run(
    ledger: Ledger,
    settings: Settings,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rule = only_rule(ledger, notificationEmails=["ops@acme.example"])
    with ledger.engine.begin() as conn:  # a row no round can evaluate
        conn.execute(update(alert_rules).values(alert_type="bogus_type", is_active=True))
    spend(ledger, DAY + dt.timedelta(hours=8), "120")
    app = create_app(
        looping(settings, mailbox), ledger=ledger, clock=Clock(DAY + dt.timedelta(hours=9))
    )
    with caplog.at_level(logging.ERROR, logger="llmledger.alerts.loop"), TestClient(app):
        loop = app.state.alert_loop
        wait_until(lambda: loop.failures >= 2, "two failed rounds")
        assert "the alert round failed" in caplog.text and "bogus_type" in caplog.text
        with ledger.engine.begin() as conn:
            conn.execute(update(alert_rules).values(alert_type="daily_limit", is_active=False))
            conn.execute(
                update(alert_rules).where(alert_rules.c.id == rule.id).values(is_active=True)
            )
        wait_until(lambda: len(mailbox.mails) == 1, "the alert email after the fix")
    assert len(firings_of(ledger, rule.id)) == 1


def test_an_interval_of_zero_runs_no_background_round(
    ledger: Ledger, settings: Settings, mailbox: Mailbox
) -> None:
    off = looping(settings, mailbox).model_copy(update={"alerts_interval_seconds": 0})
    app = create_app(off, ledger=ledger)
    with TestClient(app):
        assert app.state.alert_loop._thread is None
    assert app.state.alert_loop.rounds == 0


# -- a server process killed while it delivers ------------------------------------------------


class AlertServer:
    """``tests.alerts.server`` as a process of its own, on one port and database."""

    def __init__(self, settings: Settings, clock_file: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.clock_file = clock_file
        self.env = {
            **os.environ,
            "LLMLEDGER_DATA_DIR": str(settings.data_dir),
            "LLMLEDGER_DATABASE_URL": settings.resolved_database_url,
            "LLMLEDGER_WRITER": "thread",
            "LLMLEDGER_LOG_LEVEL": "warning",
            "LLMLEDGER_ALERTS_INTERVAL_SECONDS": "0.05",
            # the held webhook must still be in flight when the server is killed
            "LLMLEDGER_WEBHOOK_TIMEOUT_SECONDS": "120",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def set_clock(self, now: dt.datetime) -> None:
        self.clock_file.write_text(now.isoformat())

    def start(self) -> None:
        cmd = [sys.executable, "-m", "tests.alerts.server", str(self.clock_file), str(self.port)]
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._healthy, "the server to start")

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited with {self.proc.returncode}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def stop(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.proc = None
        return code

    def __enter__(self) -> AlertServer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(60)


def test_a_server_killed_between_firing_and_delivery_delivers_after_restart_once(
    ledger: Ledger,
    settings: Settings,
    tmp_path: Path,
    mailbox: Mailbox,
    receiver: HttpReceiver,
) -> None:
    rule = only_rule(
        ledger, notificationEmails=["ops@acme.example"], webhookUrl=receiver.url("/hook")
    )
    # a witness: it fires every hour (no channels), so a firing of an hour proves a round ran
    with ledger.engine.begin() as conn:
        witness = conn.execute(
            insert(alert_rules).values(
                name="witness",
                alert_type="daily_limit",
                threshold_cents=1,
                notification_frequency="hourly",
                created_us=0,
                updated_us=0,
            )
        ).inserted_primary_key[0]
    spend(ledger, DAY + dt.timedelta(hours=8), "120")
    receiver.hold.add("/hook")  # the webhook's request arrives and is never answered
    fired_at = DAY + dt.timedelta(hours=9)

    with AlertServer(settings, tmp_path / "clock", sending_env(mailbox, PUBLIC)) as server:
        server.set_clock(fired_at)
        server.start()
        wait_until(lambda: len(receiver.held) == 1, "the webhook in flight")
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL  # no shutdown, nothing recorded
        receiver.release.set()
        receiver.hold.clear()
        (firing,) = firings_of(ledger, rule.id)
        with ledger.engine.connect() as conn:
            rows = {
                r.channel: r
                for r in conn.execute(
                    select(alert_deliveries).where(alert_deliveries.c.firing_id == firing.id)
                )
            }
        assert rows["email"].status == "sent" and len(mailbox.mails) == 1
        hook = rows["webhook"]
        assert (hook.status, hook.attempts, hook.lease_until_us is not None) == ("pending", 0, True)

        # restarted after the dead server's lease ran out (5 minutes of its clock)
        server.set_clock(fired_at + dt.timedelta(minutes=6))
        server.start()
        wait_until(lambda: len(receiver.at("/hook")) == 1, "the webhook after the restart")
        server.set_clock(fired_at + dt.timedelta(hours=2))
        wait_until(lambda: len(firings_of(ledger, witness)) == 2, "a round two hours later")
        assert server.stop(signal.SIGINT) == 0  # Ctrl-C: a clean stop, the round with it

    (delivered,) = receiver.at("/hook")
    body = orjson.loads(delivered.body)
    assert (body["firingId"], body["level"]) == (firing.id, "CRITICAL")
    # the same delivery id as the unanswered request: a receiver can drop the repeat
    assert (
        delivered.headers["X-LLMLedger-Delivery"]
        == receiver.held[0].headers["X-LLMLedger-Delivery"]
    )
    assert len(mailbox.mails) == 1  # the email was not sent again
    assert len(firings_of(ledger, rule.id)) == 1  # nor the rule fired again
