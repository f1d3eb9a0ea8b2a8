"""A small generated data set, written once per test session and backend through the writer, and
read by many read-only tests through the in-process app."""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.auth.tokens import create_api_token
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.store import tables as t
from tests.support.databases import PostgresDatabase, SqliteTemplate, pg_reachable

#: "now" for the data set: not on a whole hour, so the edges of the default range are partial
NOW = dt.datetime(2026, 11, 20, 15, 30, 12, tzinfo=dt.UTC)
DAYS = 45

ORGS = ["acme", "globex", "initech", None]
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-20250514"),
    ("mystery", "unknown-model-1"),  # priced with the fallback
    ("openrouter", "openai/gpt-4o-mini"),  # the provider reports the cost
]
AGENTS = ["IRIS", "CIA", "=HYPERLINK(1)", None]
OPERATIONS = ["chat", "embed", "+sum", None]
TIERS = ["cheap", "premium", None]


def generate(n: int = 700, seed: int = 5) -> list[UsageEvent]:
    rng = random.Random(seed)
    out = []
    session = 0
    while len(out) < n:
        session += 1
        org = rng.choice(ORGS)
        user = rng.choice([None, f"{org or 'x'}-u1", f"{org or 'x'}-u2", "-shared"])
        moment = NOW - dt.timedelta(seconds=rng.randrange(5 * 60, DAYS * 86400))
        sid = f"s{session:04d}" if rng.random() < 0.8 else None
        for step in range(rng.randint(1, 5)):
            provider, model = rng.choice(MODELS)
            inp = rng.randint(0, 20_000)
            cached = rng.randint(0, inp) if rng.random() < 0.4 else 0
            out_tokens = rng.randint(0, 3000)
            ok = rng.random() > 0.12
            out.append(
                UsageEvent(
                    event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    timestamp=min(moment + dt.timedelta(seconds=30 * step), NOW),
                    provider=provider,
                    model=model,
                    org_id=org,
                    user_id=user,
                    agent=rng.choice(AGENTS),
                    session_id=sid,
                    agent_session_id=f"{sid}-a" if sid else None,
                    agent_execution_id=f"x{step}",
                    agent_plan_id="plan-1" if step == 0 else None,
                    operation=rng.choice(OPERATIONS),
                    tier=rng.choice(TIERS),
                    input_tokens=inp,
                    cache_read_tokens=cached,
                    output_tokens=out_tokens,
                    reasoning_tokens=rng.randint(0, out_tokens) if model == "gpt-4o" else 0,
                    requests=rng.choice([1, 1, 1, 2]),
                    latency_ms=None if rng.random() < 0.1 else rng.randint(50, 9000),
                    success=ok,
                    cost_usd=Decimal(rng.randint(0, 9_000_000)) / 10**9
                    if provider == "openrouter"
                    else None,
                )
            )
    return out[:n]


@dataclass
class DataSet:
    ledger: Ledger
    client: TestClient
    admin: dict[str, str]
    rows: list[dict[str, Any]]  # every stored event, as raw rows
    now: dt.datetime
    backend: str

    def get(self, path: str, **params: Any) -> Any:
        params = {k: v for k, v in params.items() if v is not None}
        r = self.client.get(f"/api/v1/admin/llm-costs{path}", params=params, headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()

    def token(self, *, role: str, org: str | None = None) -> dict[str, str]:
        with self.ledger.engine.begin() as conn:
            secret = create_api_token(conn, role=role, name="t", org_id=org)[1]
        return {"Authorization": f"Bearer {secret}"}


def _open(backend: str, tmp: Path, request: pytest.FixtureRequest) -> tuple[Ledger, Any]:
    if backend == "postgresql":
        reason = pg_reachable()
        if reason is not None:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is required in CI but cannot be reached: {reason}")
            pytest.skip(f"PostgreSQL not reachable: {reason}")
        db = PostgresDatabase()
        return Ledger.open(db.settings_for(tmp)), db.drop
    template: SqliteTemplate = request.getfixturevalue("sqlite_template")
    return Ledger.open(template.settings_for(tmp), upgrade=False), None


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def data(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DataSet]:
    ledger, cleanup = _open(request.param, tmp_path_factory.mktemp("analytics"), request)
    ledger.reload_prices()
    ledger.write(generate())
    with ledger.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(t.events))]
    with ledger.engine.begin() as conn:
        admin = create_api_token(conn, role="admin", name="analytics admin")[1]
    app = create_app(ledger=ledger, clock=lambda: NOW)
    with TestClient(app, base_url="http://testserver") as client:
        yield DataSet(
            ledger, client, {"Authorization": f"Bearer {admin}"}, rows, NOW, request.param
        )
    ledger.close()
    if cleanup is not None:
        cleanup()
