"""The alert evaluator, the alert sender and provider imports count what they did: a real
alert round whose deliveries go to an HTTP receiver on 127.0.0.1 (one answers 200, one 500),
and imports from the fake admin API (one succeeds, one is refused), then a scrape."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from llmledger.alerts.check import check
from llmledger.alerts.rulebook import make_rule
from llmledger.alerts.sender import deliver_due
from llmledger.alerts.tables import alert_rules
from llmledger.auth.audit import cli_audit
from llmledger.ledger import Ledger
from llmledger.providers.errors import ReportError
from llmledger.providers.imports import run_import
from tests.alerts.receivers import HttpReceiver
from tests.alerts.support import spend, utc
from tests.metrics.test_metrics import counter, samples
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve


def test_alert_rounds_and_deliveries_are_counted_by_outcome_and_channel(
    client: TestClient, admin: dict[str, str], ledger: Ledger
) -> None:
    with HttpReceiver() as receiver:
        receiver.status["/slack"] = 500
        with ledger.engine.begin() as conn:
            conn.execute(alert_rules.update().values(is_active=False))
        body = {
            "name": "Acme daily",
            "alertType": "daily_limit",
            "thresholdCents": 10_000,
            "orgId": "acme",
            "webhookUrl": receiver.url("/hook"),
            "slackWebhookUrl": receiver.url("/slack"),
        }
        make_rule(ledger.engine, body, audit=cli_audit(), allow_private=True)
        body = {**body, "name": "Beta daily", "orgId": "beta"}
        make_rule(ledger.engine, body, audit=cli_audit(), allow_private=True)
        day = utc(2026, 12, 7, 8)
        spend(ledger, day, "150", org_id="acme")
        before = samples(client, admin)
        now = day + dt.timedelta(minutes=1)
        assert len(check(ledger.engine, now=now).fired) == 1  # acme crossed, beta did not
        assert check(ledger.engine, now=now + dt.timedelta(minutes=1)).fired == []
        sending = ledger.settings.model_copy(update={"allow_private_webhooks": True})
        now_us = int((now + dt.timedelta(minutes=2)).timestamp()) * 1_000_000
        assert deliver_due(ledger, sending, now_us=now_us) == 1
        assert len(receiver.at("/hook")) == 1 and len(receiver.at("/slack")) == 1
    after = samples(client, admin)

    def c(name: str, **labels: str) -> float:
        return counter(before, after, name, **labels)

    assert c("llmledger_alert_evaluations_total", outcome="ok") == 2  # beta, twice
    assert c("llmledger_alert_evaluations_total", outcome="fired") == 1
    assert c("llmledger_alert_evaluations_total", outcome="already-fired") == 1
    assert c("llmledger_alert_deliveries_total", channel="webhook", outcome="sent") == 1
    assert c("llmledger_alert_deliveries_total", channel="slack", outcome="retry") == 1
    assert c("llmledger_alert_deliveries_total", channel="slack", outcome="sent") == 0


def test_import_runs_are_counted_by_provider_and_outcome(
    client: TestClient, admin: dict[str, str], ledger: Ledger
) -> None:
    before = samples(client, admin)
    days: dict[str, Any] = {"start_day": fx.D0, "end_day": fx.D0 + fx.DAY}
    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        settings = ledger.settings.model_copy(update={"openai_admin_url": url})
        run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **days)
        with pytest.raises(ReportError):
            run_import(ledger.engine, settings, "openai", key="sk-proj-not-admin", **days)
    after = samples(client, admin)
    assert (
        counter(before, after, "llmledger_import_runs_total", provider="openai", outcome="ok") == 1
    )
    assert (
        counter(before, after, "llmledger_import_runs_total", provider="openai", outcome="failed")
        == 1
    )
