"""The access pages as HTML: users, API tokens, ingest keys and the audit log show what their
API answers for the same caller, with controls only where the API would accept the change."""

from __future__ import annotations

import re

import pytest

from tests.admin.conftest import Session

BASE = "/admin/llm-costs/access"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def _ids(html: str, attr: str) -> list[int]:
    return [int(i) for i in re.findall(rf'<tr data-{attr}="(\d+)"', html)]


@sqlite_only
def test_admins_see_every_user_with_controls(session_as) -> None:
    admin: Session = session_as("admin")
    session_as("viewer", "acme")
    html = admin.client.get(f"{BASE}/users").text
    api = admin.client.get("/api/v1/admin/users").json()["users"]
    assert _ids(html, "user") == [u["id"] for u in api] and len(api) == 2
    assert 'data-field="role"' in html and "Deactivate" in html and 'name="password"' in html
    only = admin.client.get(f"{BASE}/users", params={"role": "viewer"}).text
    assert _ids(only, "user") == [u["id"] for u in api if u["role"] == "viewer"]


@sqlite_only
@pytest.mark.parametrize("role", ["viewer", "org_admin"])
def test_admin_only_pages_answer_403_like_their_api(session_as, role: str) -> None:
    s: Session = session_as(role, "acme")
    for page, api in (("users", "/api/v1/admin/users"), ("audit", "/api/v1/admin/audit-log")):
        assert s.client.get(f"{BASE}/{page}").status_code == 403
        assert s.client.get(api).status_code == 403
    keys = s.client.get(f"{BASE}/keys").status_code
    assert (
        keys
        == s.client.get("/api/v1/admin/ingest-keys").status_code
        == (403 if role == "viewer" else 200)
    )
    # and the sub-navigation offers only what they may open
    tabs = s.client.get(f"{BASE}/tokens").text.split('class="subnav"', 1)[1].split("</nav>")[0]
    assert "Users" not in tabs and "Audit log" not in tabs
    assert ("Ingest keys" in tabs) == (role == "org_admin")


@sqlite_only
def test_everyone_manages_their_own_tokens_and_admins_everyones(session_as) -> None:
    viewer: Session = session_as("viewer", "acme")
    admin: Session = session_as("admin")
    mine = viewer.client.get(f"{BASE}/tokens").text
    assert _ids(mine, "token") == [
        t["id"] for t in viewer.client.get("/api/v1/admin/tokens").json()["tokens"]
    ]
    assert len(_ids(mine, "token")) == 1 and 'id="create-token"' in mine and "Revoke" in mine
    everyone = admin.client.get(f"{BASE}/tokens").text
    assert len(_ids(everyone, "token")) == 2 and 'name="userId"' in everyone


@sqlite_only
def test_an_org_admin_sees_only_its_organisations_keys(session_as) -> None:
    admin: Session = session_as("admin")
    for org in ("acme", "globex"):
        assert (
            admin.change("POST", "/api/v1/admin/ingest-keys", json={"orgId": org}).status_code
            == 201
        )
    boss: Session = session_as("org_admin", "acme")
    html = boss.client.get(f"{BASE}/keys").text
    api = boss.client.get("/api/v1/admin/ingest-keys").json()["keys"]
    assert _ids(html, "key") == [k["id"] for k in api] and {k["orgId"] for k in api} == {"acme"}
    assert boss.client.get(f"{BASE}/keys", params={"orgId": "globex"}).status_code == 403
    assert len(_ids(admin.client.get(f"{BASE}/keys").text, "key")) == 2


@sqlite_only
def test_the_audit_log_filters_as_the_api_does(session_as) -> None:
    admin: Session = session_as("admin")
    admin.change("POST", "/api/v1/admin/users", json={"email": "new@x.io", "role": "admin"})
    admin.change("POST", "/api/v1/admin/ingest-keys", json={"orgId": "acme"})
    for params in ({}, {"action": "user"}, {"action": "key.create"}, {"target": "user:1"}):
        html = admin.client.get(f"{BASE}/audit", params=params).text
        api = admin.client.get("/api/v1/admin/audit-log", params=params).json()["entries"]
        assert re.findall(r'<tr data-action="([^"]+)"', html) == [e["action"] for e in api]
    assert admin.client.get(f"{BASE}/audit", params={"startDate": "nope"}).status_code == 422


@sqlite_only
def test_access_sends_each_role_to_its_first_page(session_as) -> None:
    admin, viewer = session_as("admin"), session_as("viewer", "acme")
    assert admin.client.get(BASE, follow_redirects=False).headers["location"].endswith("/users")
    assert viewer.client.get(BASE, follow_redirects=False).headers["location"].endswith("/tokens")


@sqlite_only
def test_the_footer_names_a_range_only_on_pages_that_have_one(session_as) -> None:
    admin: Session = session_as("admin")

    def footer(path: str) -> str:
        html = admin.client.get(path).text
        return html.split("<footer>", 1)[1].split("</footer>", 1)[0]

    assert "Range:" in footer("/admin/llm-costs")
    for path in (f"{BASE}/users", f"{BASE}/tokens", "/admin/llm-costs/alerts"):
        assert "Range:" not in footer(path), path
