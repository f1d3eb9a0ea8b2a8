"""API tokens and ingest keys over HTTP: shown once, hashed, scoped, revoked at once, audited."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.ledger import Ledger
from llmledger.store import tables as t
from tests.auth.conftest import MakeUser, sqlite_only


def test_users_manage_their_own_tokens(
    client: TestClient, make_user: MakeUser, ledger: Ledger
) -> None:
    viewer = make_user("v@acme.example", "viewer", "acme")
    other = make_user("o@acme.example", "viewer", "acme")
    r = client.post("/api/v1/admin/tokens", json={"name": "laptop"}, headers=viewer.bearer)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["token"].startswith("llt_") and made["role"] == "viewer" and made["orgId"] == "acme"
    with ledger.engine.connect() as conn:
        hashes = conn.execute(select(t.api_tokens.c.token_hash)).scalars().all()
    assert made["token"] not in hashes and all(len(h) == 64 for h in hashes)
    mine = client.get("/api/v1/admin/tokens", headers=viewer.bearer).json()["tokens"]
    assert {tk["name"] for tk in mine} == {"v@acme.example token", "laptop"}
    assert all("token" not in tk for tk in mine)  # never shown again
    assert mine[0]["lastUsedAt"] is not None  # the one this request used
    # someone else's: as if it did not exist
    theirs = client.get("/api/v1/admin/tokens", headers=other.bearer).json()["tokens"][0]["id"]
    assert client.delete(f"/api/v1/admin/tokens/{theirs}", headers=viewer.bearer).status_code == 404
    assert (
        client.get(f"/api/v1/admin/tokens?userId={other.id}", headers=viewer.bearer).status_code
        == 404
    )
    r = client.post("/api/v1/admin/tokens", json={"userId": other.id}, headers=viewer.bearer)
    assert r.status_code == 404
    # revoking stops it at once
    laptop = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/v1/me", headers=laptop).status_code == 200
    assert (
        client.delete(f"/api/v1/admin/tokens/{made['id']}", headers=viewer.bearer).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers=laptop).status_code == 401
    listed = client.get("/api/v1/admin/tokens?includeRevoked=true", headers=viewer.bearer).json()
    assert [tk["revokedAt"] is not None for tk in listed["tokens"]] == [False, True]


@sqlite_only
def test_admins_manage_everyones_tokens(client: TestClient, make_user: MakeUser) -> None:
    admin = make_user("root@x.example", "admin")
    viewer = make_user("v@acme.example", "viewer", "acme")
    r = client.post(
        "/api/v1/admin/tokens", json={"userId": viewer.id, "name": "ci"}, headers=admin.bearer
    )
    assert r.status_code == 201 and r.json()["userEmail"] == viewer.email
    everyone = client.get("/api/v1/admin/tokens", headers=admin.bearer).json()["tokens"]
    assert {tk["userId"] for tk in everyone} == {admin.id, viewer.id}
    one = client.get(f"/api/v1/admin/tokens?userId={viewer.id}", headers=admin.bearer).json()
    assert {tk["userId"] for tk in one["tokens"]} == {viewer.id}
    assert (
        client.delete(f"/api/v1/admin/tokens/{r.json()['id']}", headers=admin.bearer).status_code
        == 204
    )
    assert (
        client.post("/api/v1/admin/tokens", json={"userId": 4242}, headers=admin.bearer).status_code
        == 404
    )
    log = client.get("/api/v1/admin/audit-log?action=token", headers=admin.bearer).json()["entries"]
    assert [e["action"] for e in log] == ["token.revoke", "token.create"]
    assert log[1]["actor"]["label"] == admin.email and log[1]["ip"] == "testclient"
    assert log[1]["after"]["prefix"].startswith("llt_")
    assert "token" not in log[1]["after"]


@sqlite_only
def test_token_last_use_is_kept_to_the_minute(
    client: TestClient, make_user: MakeUser, clock, ledger: Ledger
) -> None:
    viewer = make_user("v@acme.example", "viewer", "acme")

    def last_used() -> int | None:
        with ledger.engine.connect() as conn:
            return conn.execute(
                select(t.api_tokens.c.last_used_us).where(t.api_tokens.c.user_id == viewer.id)
            ).scalar_one()

    assert last_used() is None
    client.get("/api/v1/me", headers=viewer.bearer)
    first = last_used()
    assert first is not None
    clock.now += dt.timedelta(seconds=30)
    client.get("/api/v1/me", headers=viewer.bearer)
    assert last_used() == first  # no write within the minute
    clock.now += dt.timedelta(seconds=31)
    client.get("/api/v1/me", headers=viewer.bearer)
    assert last_used() == first + 61_000_000


@sqlite_only
def test_ingest_keys_per_organisation(
    client: TestClient, make_user: MakeUser, ledger: Ledger
) -> None:
    admin = make_user("root@x.example", "admin")
    boss = make_user("boss@acme.example", "org_admin", "acme")
    viewer = make_user("v@acme.example", "viewer", "acme")
    r = client.post("/api/v1/admin/ingest-keys", json={"name": "prod"}, headers=boss.bearer)
    assert (
        r.status_code == 201 and r.json()["orgId"] == "acme" and r.json()["key"].startswith("lli_")
    )
    key = r.json()
    r = client.post("/api/v1/admin/ingest-keys", json={"orgId": "globex"}, headers=boss.bearer)
    assert r.status_code == 404
    globex = client.post(
        "/api/v1/admin/ingest-keys", json={"orgId": "globex"}, headers=admin.bearer
    )
    assert globex.status_code == 201
    assert (
        client.post("/api/v1/admin/ingest-keys", json={}, headers=admin.bearer).status_code == 422
    )
    assert client.get("/api/v1/admin/ingest-keys", headers=viewer.bearer).status_code == 403
    seen = client.get("/api/v1/admin/ingest-keys", headers=boss.bearer).json()["keys"]
    assert [k["orgId"] for k in seen] == ["acme"] and "key" not in seen[0]
    assert (
        client.get("/api/v1/admin/ingest-keys?orgId=globex", headers=boss.bearer).status_code == 404
    )
    everyone = client.get("/api/v1/admin/ingest-keys", headers=admin.bearer).json()["keys"]
    assert {k["orgId"] for k in everyone} == {"acme", "globex"}
    gid = globex.json()["id"]
    assert client.delete(f"/api/v1/admin/ingest-keys/{gid}", headers=boss.bearer).status_code == 404
    # the key writes, then is revoked and stops at once
    auth = {"Authorization": f"Bearer {key['key']}"}
    event = {
        "eventId": str(uuid.uuid4()),
        "timestamp": "2026-11-20T10:00:00Z",
        "provider": "openai",
        "model": "gpt-4o",
        "inputTokens": 10,
        "outputTokens": 5,
    }
    r = client.post("/api/v1/events", json={"events": [event]}, headers=auth)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert (
        client.delete(f"/api/v1/admin/ingest-keys/{key['id']}", headers=boss.bearer).status_code
        == 204
    )
    r = client.post("/api/v1/events", json={"events": [event]}, headers=auth)
    assert r.status_code == 401
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(t.ingest_keys.c.key_hash)).scalars().all()
    assert key["key"] not in stored
    log = client.get("/api/v1/admin/audit-log?action=key", headers=admin.bearer).json()["entries"]
    assert [(e["action"], e["orgId"]) for e in log] == [
        ("key.revoke", "acme"),
        ("key.create", "globex"),
        ("key.create", "acme"),
    ]
