"""``enforce_budgets=True`` against a real server (``GET /api/v1/budget-status`` with an ingest
key) and in direct mode (the same state read from the database), on SQLite and PostgreSQL:
a blocking rule that is CRITICAL for the call's scope stops the call before the provider sees
it; a call outside that scope goes ahead."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fastapi.testclient import TestClient

import llmledger
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.alerts.support import spend
from tests.capture.fake_provider import FakeProvider
from tests.support.live import LiveServer

MSGS: Any = [{"role": "user", "content": "hi"}]
RULES = "/api/v1/admin/llm-costs/alerts"
RULE = {
    "name": "Support daily",
    "alertType": "daily_limit",
    "orgId": "acme",
    "agent": "support",
    "thresholdCents": 5_000,
    "action": "block",
}


def calls_of(provider: FakeProvider, rule_id: int, today: str) -> None:
    """Calls of acme's support agent are refused (sync, async, streams); another agent's pass."""
    before = len(provider.requests)
    oa = openai.OpenAI(api_key="k", base_url=provider.url + "/v1", max_retries=0)
    an = anthropic.AsyncAnthropic(api_key="k", base_url=provider.url, max_retries=0)
    support = llmledger.wrap(oa, agent="support", provider="openai")

    async def async_stream() -> None:
        client = llmledger.wrap(an, agent="support", provider="anthropic")
        async with (
            client,
            client.messages.stream(model="claude-fake-1", max_tokens=5, messages=MSGS) as stream,
        ):
            [e async for e in stream]

    try:
        with llmledger.attribute(org_id="acme"):
            with pytest.raises(llmledger.BudgetExceeded) as refused:
                support.chat.completions.create(model="gpt-4o", messages=MSGS)
            exc = refused.value
            assert (exc.rule_id, exc.rule_name) == (rule_id, "Support daily")
            assert (exc.value, exc.threshold, exc.period) == (60.0, 50.0, today)
            with pytest.raises(llmledger.BudgetExceeded):
                list(support.chat.completions.create(model="gpt-4o", messages=MSGS, stream=True))
            with pytest.raises(llmledger.BudgetExceeded):
                asyncio.run(async_stream())
            assert len(provider.requests) == before
            with llmledger.attribute(agent="billing"):  # outside the rule's scope
                support.chat.completions.create(model="gpt-4o", messages=MSGS)
            assert len(provider.requests) == before + 1
    finally:
        oa.close()


def _today() -> tuple[dt.datetime, str]:
    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(seconds=1), now.date().isoformat()


def test_a_real_server_stops_calls_over_a_blocking_budget(
    ledger: Ledger, live_server: LiveServer, provider: FakeProvider, tmp_path: Path
) -> None:
    at, today = _today()
    spend(ledger, at, "60", org_id="acme", agent="support")
    admin = {"Authorization": f"Bearer {live_server.admin_token}"}
    r = httpx.post(live_server.url + RULES, json=RULE, headers=admin, timeout=30)
    assert r.status_code == 201, r.text
    llmledger.configure(
        live_server.url,
        live_server.ingest_key("acme"),
        enforce_budgets=True,
        spool_dir=tmp_path / "spool",
        budget_timeout=30,
    )
    calls_of(provider, r.json()["id"], today)
    assert llmledger.flush(30)
    assert live_server.event_count() == 2  # the spend, and the one call that went ahead


def test_direct_mode_reads_the_state_from_the_database(
    ledger: Ledger,
    settings: Settings,
    client: TestClient,
    admin: dict[str, str],
    provider: FakeProvider,
    tmp_path: Path,
) -> None:
    at, today = _today()
    spend(ledger, at, "60", org_id="acme", agent="support")
    r = client.post(RULES, json=RULE, headers=admin)
    assert r.status_code == 201, r.text
    llmledger.configure(
        database_url=settings.resolved_database_url,
        enforce_budgets=True,
        spool_dir=tmp_path / "spool",
        budget_timeout=30,
    )
    calls_of(provider, r.json()["id"], today)
