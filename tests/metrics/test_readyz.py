"""GET /readyz: 503 until the database is migrated to the code's head and the event writer is
up, then 200, with no credentials; /healthz stays a liveness check meanwhile."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from llmledger.store import migrate


def test_ready_only_once_migrated_and_writing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'fresh.db'}")
    ledger = Ledger(settings)  # an empty database: nothing migrated yet
    try:
        client = TestClient(create_app(ledger=ledger))  # no lifespan: nothing started
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["reason"].startswith("the database is not migrated")
        assert r.json()["migration"] is None
        assert r.json()["expected"] == migrate.head_revision()
        assert client.get("/healthz").status_code == 200  # alive all the same
        ledger.upgrade()
        r = client.get("/readyz")
        assert (r.status_code, r.json()["reason"]) == (503, "the event writer is not running")
        ledger.writer.start()
        r = client.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready", "migration": migrate.head_revision()}
        assert client.head("/readyz").status_code == 200
        ledger.writer.close()  # shutting down: no longer ready
        assert client.get("/readyz").status_code == 503
    finally:
        ledger.close()


def test_a_served_app_is_ready_for_anonymous_probes(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"
