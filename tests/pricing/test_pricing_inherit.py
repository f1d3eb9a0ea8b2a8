"""A manual price changes only the token prices it names: the others are inherited from the row
in force at its start (and the answer says so), or the change is refused; never a silent $0.
Through the API (SQLite and PostgreSQL) and the CLI."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from llmledger.cli import main
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.pricing.tables import price_rows
from llmledger.settings import Settings
from llmledger.store import tables as t

API = "/api/v1/admin/pricing"
MILLION = 1_000_000


def _cost_nanos(ledger: Ledger, provider: str, model: str, at: dt.datetime) -> int:
    """What 1M input and 1M output tokens of ``model`` cost when written now."""
    event = UsageEvent(
        event_id=uuid.uuid4(),
        timestamp=at,
        provider=provider,
        model=model,
        input_tokens=MILLION,
        output_tokens=MILLION,
    )
    ledger.write([event])
    e = t.events.c
    with ledger.engine.connect() as conn:
        found = select(e.cost_nanos).where(e.event_id == str(event.event_id))
        return int(conn.execute(found).scalar_one())


def _bundled_gpt_4o(client: TestClient, admin: dict[str, str]) -> dict:
    listed = client.get(f"{API}/models", params={"search": "gpt-4o"}, headers=admin).json()
    return next(m for m in listed["models"] if m["model"] == "gpt-4o")


def _row_count(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(price_rows)).scalar_one())


def test_a_manual_price_keeps_the_token_prices_it_does_not_name(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock
) -> None:
    bundled = _bundled_gpt_4o(client, admin)
    assert (bundled["inputPerMillion"], bundled["cacheReadPerMillion"]) == ("2.5", "1.25")
    r = client.post(f"{API}/models", headers=admin, json={"model": "gpt-4o", "outputPerMillion": 2})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["inputPerMillion"], made["outputPerMillion"]) == ("2.5", "2")
    assert made["cacheReadPerMillion"] == "1.25"
    assert made["inherited"] == {
        "fromId": bundled["id"],
        "source": "bundled",
        "prices": ["inputPerMillion", "cacheReadPerMillion"],
    }
    # 1M input at the catalog's $2.50 and 1M output at the new $2: $4.50, not $2.00
    assert _cost_nanos(ledger, "openai", "gpt-4o", clock.now) == 4_500_000_000

    # a correction of the correction inherits from the manual row it replaces
    r = client.put(f"{API}/models/{made['id']}", headers=admin, json={"inputPerMillion": "3"})
    assert r.status_code == 200, r.text
    fixed = r.json()
    assert (fixed["inputPerMillion"], fixed["outputPerMillion"]) == ("3", "2")
    assert fixed["inherited"] == {
        "fromId": made["id"],
        "source": "manual",
        "prices": ["outputPerMillion", "cacheReadPerMillion"],
    }
    # naming every price inherits nothing
    full = {"model": "gpt-4o", "inputPerMillion": "1", "outputPerMillion": "4"}
    r = client.post(f"{API}/models", headers=admin, json={**full, "cacheReadPerMillion": "0.5"})
    assert r.status_code == 201 and r.json()["inherited"] is None, r.text


def test_a_manual_price_with_nothing_to_inherit_from_is_refused(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock
) -> None:
    rows = _row_count(ledger)
    body = {"provider": "acme", "model": "acme-ft", "outputPerMillion": "2"}
    r = client.post(f"{API}/models", headers=admin, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("inputPerMillion: no price of acme/acme-ft"), r.text
    assert "0 if it is free" in r.json()["detail"]
    assert _row_count(ledger) == rows
    # an explicit 0 is a price
    r = client.post(f"{API}/models", headers=admin, json={**body, "inputPerMillion": 0})
    assert r.status_code == 201, r.text
    assert _cost_nanos(ledger, "acme", "acme-ft", clock.now) == 2_000_000_000


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_changed_price_keeps_the_daily_windows_it_gives(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {"provider": "acme", "model": "acme-night", "inputPerMillion": "2"}
    made = client.post(f"{API}/models", headers=admin, json={**body, "outputPerMillion": "4"})
    assert made.status_code == 201, made.text
    window = {"startUtc": "22:00", "endUtc": "06:00", "inputPerMillion": "1"}
    r = client.put(
        f"{API}/models/{made.json()['id']}", headers=admin, json={"windows": [window], **body}
    )
    assert r.status_code == 200, r.text
    assert [w["startUtc"] for w in r.json()["windows"]] == ["22:00:00"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LLMLEDGER_DATABASE_URL", raising=False)
    return Settings()


def test_prices_set_says_what_it_inherited_or_refuses(env: Settings) -> None:
    result = CliRunner().invoke(main, ["prices", "set", "gpt-4o", "--output", "2"])
    assert result.exit_code == 0, result.output
    assert "in 2.5  out 2" in result.output
    assert re.search(
        r"inherited from row \d+ \[bundled\]: --input 2.5, --cache-read 1.25", result.output
    )

    result = CliRunner().invoke(
        main, ["prices", "set", "acme-ft", "--provider", "acme", "--output", "2"]
    )
    assert result.exit_code == 2, result.output
    assert "--input: no price of acme/acme-ft" in result.output
    assert "Traceback" not in result.output
