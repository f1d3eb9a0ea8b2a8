"""Shared fixtures. Storage tests run on SQLite and PostgreSQL through the ``backend`` param of
``ledger``; PostgreSQL tests skip locally when it cannot be reached and fail in CI."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from llmledger.auth.tokens import create_api_token, create_ingest_key
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from tests.support.databases import PostgresDatabase, SqliteTemplate, pg_reachable
from tests.support.live import LiveServer

# property tests judge answers, never speed: no per-example deadline, and no health check that
# fails a test because a loaded machine generated its data slowly
settings.register_profile("llmledger", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("llmledger")

# the tests run alert rounds themselves, at instants they choose: an app started by a test runs
# no background round unless the test asks for one
os.environ.setdefault("LLMLEDGER_ALERTS_INTERVAL_SECONDS", "0")
# nor does it import provider reports on its own (a test that sets a key imports when it asks)
os.environ.setdefault("LLMLEDGER_IMPORTS_INTERVAL_SECONDS", "0")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[PostgresDatabase]:
    reason = pg_reachable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but cannot be reached: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")
    db = PostgresDatabase()
    yield db
    db.drop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def writer() -> str:
    """Where the ledger's server-side writer runs. Tests default to a thread (no process to
    start per test); the ingest tests parametrize this over ``thread`` and ``process``, and
    the live server runs as ``llmledger serve`` would (``auto``)."""
    return "thread"


@pytest.fixture
def settings(
    backend: str,
    writer: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: SqliteTemplate,
) -> Settings:
    if backend == "postgresql":
        db = request.getfixturevalue("postgres_db")
        return db.settings_for(tmp_path / "data", writer=writer)
    return sqlite_template.settings_for(tmp_path / "data", writer=writer)


@pytest.fixture
def ledger(settings: Settings, backend: str, request: pytest.FixtureRequest) -> Iterator[Ledger]:
    led = Ledger.open(settings, upgrade=False)
    if backend == "postgresql":
        request.getfixturevalue("postgres_db").reset(led.engine)
    led.reload_prices()
    yield led
    led.close()


class Clock:
    """A settable clock for the app (analytics 'now')."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime.now(dt.UTC))


@pytest.fixture
def client(ledger: Ledger, clock: Clock) -> Iterator[TestClient]:
    app = create_app(ledger=ledger, clock=clock)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def admin_token(ledger: Ledger) -> str:
    with ledger.engine.begin() as conn:
        return create_api_token(conn, role="admin", name="test admin")[1]


@pytest.fixture
def admin(admin_token: str) -> dict[str, str]:
    """Headers of an admin caller."""
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def ingest_key_for(ledger: Ledger):  # type: ignore[no-untyped-def]
    def make(org: str) -> dict[str, str]:
        with ledger.engine.begin() as conn:
            secret = create_ingest_key(conn, org_id=org, name=f"key for {org}")[1]
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """A real server on 127.0.0.1 over the test's database (SQLite and PostgreSQL)."""
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()
