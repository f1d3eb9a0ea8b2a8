"""Users over HTTP (admins only), the audit log's filters, and the first admin from settings."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import SecretStr

from llmledger.auth.bootstrap import ensure_first_admin
from llmledger.auth.users import get_user_by_email
from llmledger.ledger import Ledger
from tests.auth.conftest import MakeUser, log_in, sqlite_only

USERS = "/api/v1/admin/users"


@sqlite_only
def test_admins_manage_users_and_every_change_is_audited(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user("root@x.example", "admin")
    h = admin.bearer
    r = client.post(
        USERS,
        json={
            "email": "Boss@Acme.example",
            "name": "Boss",
            "role": "org_admin",
            "orgId": "acme",
            "password": "a fine password",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    boss = r.json()
    assert boss["email"] == "boss@acme.example" and boss["hasPassword"] is True
    assert (
        client.post(
            USERS, json={"email": "boss@acme.example", "role": "admin"}, headers=h
        ).status_code
        == 409
    )
    bad = [
        {"email": "x@y.example", "role": "viewer"},  # no organisation
        {"email": "x@y.example", "role": "root"},
        {"email": "x@y.example", "role": "admin", "password": "short"},
        {"email": "x@y.example", "role": "admin", "extra": 1},
    ]
    for body in bad:
        assert client.post(USERS, json=body, headers=h).status_code == 422, body
    assert client.get(f"{USERS}/{boss['id']}", headers=h).json()["role"] == "org_admin"
    assert client.get(f"{USERS}/4242", headers=h).status_code == 404
    r = client.patch(f"{USERS}/{boss['id']}", json={"role": "viewer", "name": "Demoted"}, headers=h)
    assert r.status_code == 200 and r.json()["role"] == "viewer" and r.json()["orgId"] == "acme"
    r = client.patch(f"{USERS}/{admin.id}", json={"active": False}, headers=h)
    assert r.status_code == 409  # the last active admin
    r = client.patch(f"{USERS}/{boss['id']}", json={"password": "another fine one"}, headers=h)
    assert r.status_code == 200
    listed = client.get(f"{USERS}?orgId=acme", headers=h).json()["users"]
    assert [u["email"] for u in listed] == ["boss@acme.example"]
    assert client.get(f"{USERS}?role=admin", headers=h).json()["users"][0]["id"] == admin.id
    log = client.get("/api/v1/admin/audit-log?action=user", headers=h).json()["entries"]
    assert [e["action"] for e in log] == ["user.password", "user.update", "user.create"]
    update = log[1]
    assert update["before"]["role"] == "org_admin" and update["after"]["role"] == "viewer"
    assert update["target"] == f"user:{boss['id']}" and update["orgId"] == "acme"
    assert log[0]["after"] == {"password": "***"}
    assert "a fine password" not in str(log)


@sqlite_only
def test_scoped_callers_get_403_from_admin_endpoints(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user("root@x.example", "admin")
    for role in ("org_admin", "viewer"):
        person = make_user(f"{role}@acme.example", role, "acme")
        for method, url in (
            ("GET", USERS),
            ("GET", f"{USERS}/{admin.id}"),
            ("POST", USERS),
            ("PATCH", f"{USERS}/{person.id}"),
            ("GET", "/api/v1/admin/audit-log"),
        ):
            body = {} if method in ("POST", "PATCH") else None
            r = client.request(method, url, json=body, headers=person.bearer)
            assert r.status_code == 403, (role, method, url)


def test_deactivation_revokes_tokens_for_good(client: TestClient, make_user: MakeUser) -> None:
    admin = make_user("root@x.example", "admin")
    viewer = make_user("v@acme.example", "viewer", "acme")
    assert client.get("/api/v1/me", headers=viewer.bearer).status_code == 200
    r = client.patch(f"{USERS}/{viewer.id}", json={"active": False}, headers=admin.bearer)
    assert r.status_code == 200
    assert client.get("/api/v1/me", headers=viewer.bearer).status_code == 401
    r = client.patch(f"{USERS}/{viewer.id}", json={"active": True}, headers=admin.bearer)
    assert r.status_code == 200 and r.json()["active"] is True
    # a token that leaked before the user was shut out stays dead
    assert client.get("/api/v1/me", headers=viewer.bearer).status_code == 401
    listed = client.get(
        f"/api/v1/admin/tokens?userId={viewer.id}&includeRevoked=true", headers=admin.bearer
    ).json()["tokens"]
    assert len(listed) == 1 and listed[0]["revokedAt"] is not None
    csrf = log_in(client, viewer)  # the person is let in again, and may make a new token
    r = client.post("/api/v1/admin/tokens", json={"name": "new"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    fresh = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/v1/me", headers=fresh).status_code == 200


@sqlite_only
def test_audit_log_filters(client: TestClient, make_user: MakeUser) -> None:
    admin = make_user("root@x.example", "admin")
    csrf = log_in(client, admin)
    client.post(
        USERS,
        json={"email": "a@acme.example", "role": "viewer", "orgId": "acme"},
        headers={"X-CSRF-Token": csrf},
    )
    client.post(
        USERS,
        json={"email": "g@globex.example", "role": "viewer", "orgId": "globex"},
        headers=admin.bearer,
    )
    url, h = "/api/v1/admin/audit-log", admin.bearer
    everything = client.get(url, headers=h).json()["entries"]
    assert len(everything) == 2
    assert everything[1]["actor"]["kind"] == "session" and everything[0]["actor"]["kind"] == "token"
    assert len(client.get(url, params={"orgId": "acme"}, headers=h).json()["entries"]) == 1
    assert (
        len(client.get(url, params={"actor": "ROOT@x.example"}, headers=h).json()["entries"]) == 2
    )
    assert len(client.get(url, params={"userId": admin.id}, headers=h).json()["entries"]) == 2
    assert client.get(url, params={"action": "user.create", "limit": 1}, headers=h).json()[
        "nextCursor"
    ]
    for params in ({"startDate": "2000-01-01", "endDate": "2999-12-31"}, {"endDate": "2000-01-01"}):
        found = client.get(url, params=params, headers=h).json()["entries"]
        assert len(found) == (2 if "startDate" in params else 0)
    for bad in ({"startDate": "yesterday"}, {"limit": 0}, {"cursor": "x"}, {"action": "a\x00"}):
        assert client.get(url, params=bad, headers=h).status_code == 422, bad


def test_the_first_admin_comes_from_the_settings_once(ledger: Ledger) -> None:
    settings = ledger.settings.model_copy(
        update={"admin_email": "Boot@X.example", "admin_password": SecretStr("first password")}
    )
    engine = ledger.engine
    assert ensure_first_admin(engine, settings) is True
    assert ensure_first_admin(engine, settings) is False  # it exists; it is left alone
    with engine.connect() as conn:
        user = get_user_by_email(conn, "boot@x.example")
    assert user is not None and user["role"] == "admin" and user["hasPassword"]
    weak = settings.model_copy(
        update={"admin_email": "w@x.example", "admin_password": SecretStr("short")}
    )
    assert ensure_first_admin(engine, weak) is False
    missing = settings.model_copy(update={"admin_email": "m@x.example", "admin_password": None})
    assert ensure_first_admin(engine, missing) is False
