"""Web sessions over the in-process app: login, the cookie, CSRF, logout, expiry, throttling."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.auth.tables import web_sessions
from llmledger.ledger import Ledger
from tests.auth.conftest import MakeUser, log_in, sqlite_only


@sqlite_only
def test_login_sets_a_hardened_cookie_and_me_answers(
    client: TestClient, make_user: MakeUser, ledger: Ledger
) -> None:
    viewer = make_user("Viewer@Acme.example", "viewer", "acme")
    r = client.post(
        "/api/v1/auth/login", json={"email": "VIEWER@acme.example", "password": viewer.password}
    )
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http here; https gets Secure (below)
    me = client.get("/api/v1/me").json()
    assert me["kind"] == "session" and me["role"] == "viewer" and me["orgId"] == "acme"
    assert me["user"]["email"] == "viewer@acme.example"
    assert me["csrfToken"] == r.json()["csrfToken"]
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(web_sessions.c.id_hash)).scalars().all()
    assert len(stored) == 1 and stored[0] not in cookie  # only a hash of the id is kept
    https = TestClient(client.app, base_url="https://testserver")
    r = https.post("/api/v1/auth/login", json={"email": viewer.email, "password": viewer.password})
    assert "Secure" in r.headers["set-cookie"]


@sqlite_only
def test_wrong_passwords_and_unknown_users_look_alike(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("v@acme.example", "viewer", "acme")
    wrong = client.post(
        "/api/v1/auth/login", json={"email": "v@acme.example", "password": "nope1234"}
    )
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "x@acme.example", "password": "nope1234"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers
    # a cross-site form can post text/plain, but that is no login (no login CSRF)
    r = client.post(
        "/api/v1/auth/login",
        content='{"email": "v@acme.example", "password": "correct horse battery"}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 422


@sqlite_only
def test_state_changes_with_the_cookie_need_the_csrf_token(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user("root@x.example", "admin")
    csrf = log_in(client, admin)
    new = {"email": "new@x.example", "role": "viewer", "orgId": "acme"}
    r = client.post("/api/v1/admin/users", json=new)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    r = client.post("/api/v1/admin/users", json=new, headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403
    r = client.post("/api/v1/admin/users", json=new, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    # a bearer token needs no CSRF token, even with a cookie beside it
    r = client.post(
        "/api/v1/admin/users", json={**new, "email": "n2@x.example"}, headers=admin.bearer
    )
    assert r.status_code == 201


@sqlite_only
def test_logout_ends_the_session_at_once(client: TestClient, make_user: MakeUser, browser) -> None:
    viewer = make_user("v@acme.example", "viewer", "acme")
    csrf = log_in(client, viewer)
    stolen = client.cookies["llmledger_session"]
    r = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert (
        "llmledger_session=" in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    )
    other = browser()
    r = other.get("/api/v1/me", headers={"Cookie": f"llmledger_session={stolen}"})
    assert r.status_code == 401  # the cookie is still well signed, but its session is gone


@sqlite_only
def test_sessions_expire_and_deactivation_ends_them(
    client: TestClient, make_user: MakeUser, clock, browser
) -> None:
    admin = make_user("root@x.example", "admin")
    viewer = make_user("v@acme.example", "viewer", "acme")
    log_in(client, viewer)
    assert client.get("/api/v1/me").status_code == 200
    start = clock.now
    clock.now = start + dt.timedelta(hours=12, seconds=1)
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and "log in again" in r.json()["detail"]
    clock.now = start
    second = browser()
    log_in(second, viewer)
    r = client.patch(
        f"/api/v1/admin/users/{viewer.id}", json={"active": False}, headers=admin.bearer
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert second.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=viewer.bearer).status_code == 401  # tokens too
    r = second.post("/api/v1/auth/login", json={"email": viewer.email, "password": viewer.password})
    assert r.status_code == 401


def test_failed_logins_are_throttled_per_account_and_per_address(
    client: TestClient, make_user: MakeUser, clock
) -> None:
    victim = make_user("v@acme.example", "viewer", "acme")
    wrong = {"email": victim.email, "password": "wrong password"}
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
    r = client.post("/api/v1/auth/login", json={"email": victim.email, "password": victim.password})
    assert r.status_code == 429  # locked, even with the right password
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    # per address: many accounts tried from one place
    for i in range(15):
        client.post("/api/v1/auth/login", json={"email": f"u{i}@x.example", "password": "guess123"})
    other = make_user("w@acme.example", "viewer", "acme")
    r = client.post("/api/v1/auth/login", json={"email": other.email, "password": other.password})
    assert r.status_code == 429
    clock.now += dt.timedelta(minutes=15, seconds=1)  # the window ends
    assert log_in(client, victim)


@sqlite_only
def test_change_own_password_ends_other_sessions(
    client: TestClient, make_user: MakeUser, browser
) -> None:
    viewer = make_user("v@acme.example", "viewer", "acme")
    csrf = log_in(client, viewer)
    elsewhere = browser()
    log_in(elsewhere, viewer)
    body = {"currentPassword": "not it at all", "newPassword": "a brand new secret"}
    assert (
        client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": csrf}).status_code
        == 403
    )
    body["currentPassword"] = viewer.password
    body["newPassword"] = "short"
    assert (
        client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": csrf}).status_code
        == 422
    )
    body["newPassword"] = "a brand new secret"
    assert (
        client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": csrf}).status_code
        == 204
    )
    assert client.get("/api/v1/me").status_code == 200  # this session stays
    assert elsewhere.get("/api/v1/me").status_code == 401  # the others end
    viewer.password = "a brand new secret"
    assert log_in(browser(), viewer)
