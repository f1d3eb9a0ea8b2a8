"""The command line, run in process against a fresh SQLite data directory."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from llmledger.auth.tokens import resolve_bearer
from llmledger.cli import main
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store import tables as t


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LLMLEDGER_DATABASE_URL", raising=False)
    return Settings()


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_then_tokens_and_keys(env):
    assert "revision" in run("db", "upgrade")
    admin = run("tokens", "create", "--admin").strip()
    key = run("keys", "create", "--org", "acme").strip()
    led = Ledger.open(env, upgrade=False)
    with led.engine.connect() as conn:
        p = resolve_bearer(conn, admin)
        k = resolve_bearer(conn, key)
        stored = conn.execute(select(t.api_tokens.c.token_hash)).scalars().all()
    led.close()
    assert p is not None and p.role == "admin"
    assert k is not None and k.role == "ingest" and k.org_id == "acme"
    assert admin not in stored  # only the hash is kept


def test_tokens_create_needs_a_kind(env):
    result = CliRunner().invoke(main, ["tokens", "create"])
    assert result.exit_code != 0
    assert "--admin" in result.output


def test_demo_is_idempotent_and_priced(env):
    """Written by the writer process (a file database's default), three chunks of 5,000 in
    flight at most while the next is generated; every one counted."""
    assert env.writer == "auto"
    out = run("demo", "--events", "13000", "--days", "20")
    assert "13000 new events" in out
    led = Ledger.open(env, upgrade=False)
    assert led.writer.has_process
    with led.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
        sources = set(conn.execute(select(t.events.c.cost_source).distinct()).scalars())
        providers = set(conn.execute(select(t.events.c.provider).distinct()).scalars())
        failures = conn.execute(
            select(func.count()).select_from(t.events).where(t.events.c.success.is_(False))
        ).scalar_one()
    led.close()
    assert n == 13000
    assert {"catalog", "provider", "fallback"} <= sources
    assert {"openai", "anthropic", "openrouter", "groq"} <= providers
    assert failures > 0
    out = run("demo", "--events", "13000", "--days", "20")
    assert "demo: 0 new events" in out


def test_rollups_rebuild_reports_and_repairs(env):
    run("db", "upgrade")
    led = Ledger.open(env, upgrade=False)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    led.write(
        [
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=now,
                provider="openai",
                model="gpt-4o",
                input_tokens=10,
                output_tokens=5,
            )
            for _ in range(5)
        ]
    )
    with led.engine.begin() as conn:
        conn.execute(update(t.rollup_hour).values(requests=99))
    led.close()
    out = run("rollups", "rebuild")
    assert "repaired" in out and "'requests': -94" in out
    assert "nothing to repair" in run("rollups", "rebuild")


def test_prune_deletes_old_raw_events_and_keeps_rollups(env, monkeypatch):
    run("db", "upgrade")
    led = Ledger.open(env, upgrade=False)
    now = dt.datetime.now(dt.UTC)
    old = [
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=now - dt.timedelta(days=120),
            provider="openai",
            model="gpt-4o",
            input_tokens=1000,
            output_tokens=10,
        )
        for _ in range(7)
    ]
    new = [
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=now - dt.timedelta(days=1),
            provider="openai",
            model="gpt-4o",
            input_tokens=1000,
            output_tokens=10,
        )
        for _ in range(3)
    ]
    led.write(old + new)
    led.close()
    assert "would delete 7" in run("prune", "--dry-run")
    assert "deleted 7" in run("prune")
    led = Ledger.open(env, upgrade=False)
    with led.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
        rolled = conn.execute(select(func.sum(t.rollup_day.c.requests))).scalar_one()
    led.close()
    assert n == 3
    assert rolled == 10
    # rebuild never recounts pruned days (that would erase them)
    run("rollups", "rebuild", "--start", "2020-01-01")
    led = Ledger.open(env, upgrade=False)
    with led.engine.connect() as conn:
        assert conn.execute(select(func.sum(t.rollup_day.c.requests))).scalar_one() == 10
    led.close()
