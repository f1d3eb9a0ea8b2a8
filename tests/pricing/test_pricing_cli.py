"""``llmledger prices``: list, show, set, delete, fallback, sync and reprice, in process against a
fresh SQLite data directory."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from llmledger.auth.tables import audit_log
from llmledger.cli import main
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store import tables as t
from tests.pricing import litellm_fixture as fx


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LLMLEDGER_DATABASE_URL", raising=False)
    return Settings()


def run(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_prices_commands_end_to_end(env: Settings, tmp_path: Path) -> None:
    assert "gpt-4o  in 2.5  out 10" in run("prices", "list", "--search", "gpt-4o")
    shown = json.loads(run("prices", "show", "o3", "--json"))
    assert len(shown["history"]) >= 2  # o3's price changed on 2025-06-10
    assert "fallback" in run("prices", "show", "acme-ft", "--provider", "acme", ok=False)

    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    ledger = Ledger.open(env)
    ledger.write(
        [
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=at + dt.timedelta(hours=h),
                provider="acme",
                model="acme-ft",
                input_tokens=1_000_000,
                session_id="s1",
                user_id="u1",
            )
            for h in range(3)
        ]
    )
    ledger.close()

    start = (at - dt.timedelta(days=1)).date().isoformat()
    out = run(
        "prices", "set", "acme-ft", "--provider", "acme", "--input", "1", "--output", "2",
        "--tier", "500000:input=3,output=4", "--from", start, "--notes", "contract",
    )  # fmt: skip
    assert "added" in out and "tiers>500000" in out
    assert "3 stored events since" in out and "llmledger prices reprice" in out
    found = re.search(r"added\s+(\d+)", out)
    assert found is not None
    row_id = int(found.group(1))

    out = run("prices", "reprice", "--start", start, "--end", dt.date.today().isoformat())
    assert "3 changed" in out and "cost 30.000000000 -> 9.000000000 USD" in out

    assert "in 10  out 30" in run("prices", "fallback")
    assert "in 5  out 15" in run("prices", "fallback", "--input", "5", "--output", "15")

    catalog = fx.write(tmp_path / "catalog.json")
    dry = run("prices", "sync", "--file", str(catalog), "--dry-run")
    assert f"would sync {len(fx.EXPECTED)} models" in dry
    assert f"{len(fx.EXPECTED)} added" in run("prices", "sync", "--file", str(catalog), "-v")
    assert f"{len(fx.EXPECTED)} unchanged" in run("prices", "sync", "--file", str(catalog))

    assert "closed" in run("prices", "delete", str(row_id))
    assert "only manual rows" in run("prices", "delete", "1", ok=False)

    ledger = Ledger.open(env)
    with ledger.engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor_label)).all()
        costs = conn.execute(select(t.events.c.cost_nanos, t.events.c.cost_source)).all()
    ledger.close()
    assert costs == [(3_000_000_000, "override")] * 3
    assert [a for a, _ in actions] == [
        "price.create",
        "price.reprice",
        "price.fallback",
        "price.sync",
        "price.sync",
        "price.delete",
    ]
    assert all(label.startswith("cli:") for _, label in actions)


def test_a_running_process_picks_up_a_price_set_on_the_command_line(env: Settings) -> None:
    server = Ledger.open(env.model_copy(update={"prices_poll_seconds": 0.2}))
    event = UsageEvent(
        event_id=uuid.uuid4(),
        timestamp=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),  # after the change
        provider="acme",
        model="acme-ft",
        input_tokens=1_000_000,
    )
    assert server.pricer().price(event).cost_source == "fallback"
    run("prices", "set", "acme-ft", "--provider", "acme", "--input", "2", "--output", "8")
    deadline = time.monotonic() + 60
    while server.pricer().price(event).cost_source == "fallback":
        assert time.monotonic() < deadline, "the price change never reached the running process"
        time.sleep(0.05)
    priced = server.pricer().price(event)
    assert (priced.cost_source, priced.cost_nanos) == ("override", 2_000_000_000)
    server.close()
