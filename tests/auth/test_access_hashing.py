"""argon2 never runs inside a write transaction: while a password is being hashed, another
tenant's ingest commits (on SQLite a transaction that hashed would hold the one write lock)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.auth.tables import users
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from tests.auth.conftest import Gate, HeldHasher, MakeUser, Person, log_in
from tests.conftest import Clock

CHANGES = ["admin sets a password", "admin makes a user", "own password", "login re-hash"]


def _change(change: str, client: TestClient, admin: Person, viewer: Person) -> Callable:
    """The request that hashes a password, ready to be sent."""
    new = {"password": "a brand new secret"}
    if change == "admin sets a password":
        return lambda: client.patch(
            f"/api/v1/admin/users/{viewer.id}", json=new, headers=admin.bearer
        )
    if change == "admin makes a user":
        body = {**new, "email": "n@acme.example", "role": "viewer", "orgId": "acme"}
        return lambda: client.post("/api/v1/admin/users", json=body, headers=admin.bearer)
    if change == "own password":
        csrf = {"X-CSRF-Token": log_in(client, viewer)}  # verifies, hashes nothing
        body = {"currentPassword": viewer.password, "newPassword": new["password"]}
        return lambda: client.post("/api/v1/me/password", json=body, headers=csrf)
    login = {"email": viewer.email, "password": viewer.password}
    return lambda: client.post("/api/v1/auth/login", json=login)


@pytest.mark.parametrize("change", CHANGES)
def test_another_tenants_ingest_commits_while_a_password_is_hashed(
    change: str, ledger: Ledger, make_user: MakeUser, clock: Clock, ingest_key_for
) -> None:
    admin = make_user("root@x.example", "admin")
    viewer = make_user("v@acme.example", "viewer", "acme")
    gate = Gate()
    # stored hashes have time cost 1; a hasher of cost 2 makes a login re-hash the password
    hasher = HeldHasher(gate, {"hash"}, time_cost=2 if change == "login re-hash" else 1)
    app = create_app(ledger=ledger, clock=clock, password_hasher=hasher)
    event = {
        "eventId": str(uuid.uuid4()),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "provider": "openai",
        "model": "gpt-4o",
        "orgId": "globex",
        "inputTokens": 10,
    }
    globex = ingest_key_for("globex")
    with TestClient(app) as client, ThreadPoolExecutor(2) as pool:
        held = pool.submit(_change(change, client, admin, viewer))
        assert gate.wait_until(lambda g: g.arrived >= 1), "no password was hashed"
        ingest = pool.submit(
            client.post, "/api/v1/events", json={"events": [event]}, headers=globex
        )
        try:  # the hash is still held at the gate
            answer: httpx.Response | None = ingest.result(timeout=60)
        except TimeoutError:
            answer = None
        finally:
            gate.open()
        assert answer is not None, "ingest waited for the password hash"
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
        assert held.result(timeout=60).status_code in (200, 201, 204)
    if change == "login re-hash":
        with ledger.engine.connect() as conn:
            stored = conn.execute(
                select(users.c.password_hash).where(users.c.id == viewer.id)
            ).scalar_one()
        assert ",t=2," in stored
