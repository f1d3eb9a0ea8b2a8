"""The access pages in chromium against a live server: a token created in the page works once
copied and stops once revoked there; users are created, changed, given a password and
deactivated; an org admin makes and revokes its organisation's ingest keys; a viewer sees state
and no controls, and every admin route it tries answers 403."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.admin.browser import Visitor

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]
BASE = "/admin/llm-costs/access"


def _works(v: Visitor, secret: str) -> int:
    with httpx.Client(base_url=v.server.url, timeout=60) as c:
        return c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_a_token_made_in_the_page_works_once_copied_and_stops_once_revoked(visit) -> None:
    viewer: Visitor = visit("viewer", "acme")
    viewer.goto(f"{BASE}/tokens")
    viewer.page.fill('#create-token [name="name"]', "from the browser")
    viewer.page.click("#create-token button[type=submit]")
    box = viewer.page.locator("#new-token")
    expect(box).to_be_visible()
    box.locator("[data-copy]").click()
    expect(viewer.page.locator(".toast", has_text="Copied")).to_be_visible()
    copied = viewer.page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("llt_") and copied == box.locator("code").inner_text()
    assert _works(viewer, copied) == 200

    box.locator("[data-close-secret]").click()  # the list, now with the new token
    row = viewer.page.locator('#table-tokens tr[data-name="from the browser"]')
    expect(row).to_contain_text("active")
    row.locator("button", has_text="Revoke").click()
    viewer.confirm("Revoke")
    expect(viewer.page.locator(".toast", has_text="Token revoked")).to_be_visible()
    expect(viewer.page.locator('#table-tokens tr[data-name="from the browser"]')).to_have_count(0)
    assert _works(viewer, copied) == 401
    # the secret is never in the page again
    assert copied not in viewer.page.content()


def test_a_user_is_created_changed_reset_and_deactivated_in_the_page(visit) -> None:
    admin: Visitor = visit("admin")
    admin.goto(f"{BASE}/users")
    admin.page.locator("#create-user summary").click()
    form = admin.page.locator("#create-user form")
    form.locator('[name="email"]').fill("dana@example.com")
    form.locator('[name="name"]').fill("Dana")
    form.locator('[name="role"]').select_option("viewer")
    form.locator('[name="orgId"]').fill("acme")
    form.locator('[name="password"]').fill("a long first password")
    form.locator("button[type=submit]").click()
    row = admin.page.locator('#table-users tr[data-email="dana@example.com"]')
    expect(row).to_contain_text("active")

    row.locator('select[data-field="role"]').select_option("org_admin")
    admin.confirm("Change role")
    expect(admin.page.locator(".toast", has_text="Role changed")).to_be_visible()
    (dana,) = [
        u for u in admin.api("GET", "/api/v1/admin/users").json()["users"] if u["name"] == "Dana"
    ]
    assert (dana["role"], dana["orgId"]) == ("org_admin", "acme")

    row.locator('[name="password"]').fill("the second password")
    row.locator("button", has_text="Reset").click()
    admin.confirm("Reset password")
    expect(admin.page.locator(".toast", has_text="Password reset")).to_be_visible()
    with httpx.Client(base_url=admin.server.url, timeout=60) as c:
        login = {"email": "dana@example.com", "password": "the second password"}
        assert c.post("/api/v1/auth/login", json=login).status_code == 200

    row = admin.page.locator('#table-users tr[data-email="dana@example.com"]')
    row.locator("button", has_text="Deactivate").click()
    admin.confirm("Deactivate")
    expect(row).to_contain_text("deactivated")
    assert admin.api("GET", f"/api/v1/admin/users/{dana['id']}").json()["active"] is False

    # the audit log page shows every one of these changes
    admin.goto(f"{BASE}/audit?target=user:{dana['id']}")
    actions = admin.page.locator("#table-audit tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions.count("user.update") == 2 and "user.password" in actions
    assert actions[-1] == "user.create"


def test_an_org_admin_makes_and_revokes_its_ingest_keys(visit) -> None:
    boss: Visitor = visit("org_admin", "acme")
    boss.goto(f"{BASE}/keys")
    boss.page.fill('#create-key [name="name"]', "production")
    boss.page.click("#create-key button[type=submit]")
    key = boss.page.locator("#new-key code")
    expect(key).not_to_be_empty()
    secret = key.inner_text()
    assert _works(boss, secret) == 200  # an ingest key may ask who it is
    boss.page.locator("#new-key [data-close-secret]").click()
    row = boss.page.locator('#table-keys tr[data-name="production"]')
    expect(row).to_contain_text("acme")
    row.locator("button", has_text="Revoke").click()
    boss.confirm("Revoke")
    expect(boss.page.locator(".toast", has_text="Ingest key revoked")).to_be_visible()
    assert _works(boss, secret) == 401


ADMIN_CALLS = [
    ("GET", "/api/v1/admin/users", None),
    ("POST", "/api/v1/admin/users", {"email": "x@example.com", "role": "admin"}),
    ("GET", "/api/v1/admin/audit-log", None),
    ("GET", "/api/v1/admin/ingest-keys", None),
    ("POST", "/api/v1/admin/ingest-keys", {"name": "k"}),
    ("PUT", "/api/v1/admin/pricing/fallback", {"inputPerMillion": 1, "outputPerMillion": 1}),
    ("POST", "/api/v1/admin/pricing/models", {"model": "gpt-4o", "inputPerMillion": 1}),
    ("POST", "/api/v1/admin/pricing/sync/preview", {"source": "litellm"}),
    ("POST", "/api/v1/admin/pricing/reprice", {"startDate": "2026-01-01", "endDate": "2026-01-02"}),
    ("GET", "/api/v1/admin/pricing/reprice", None),
]


def test_a_viewer_sees_state_and_no_controls_and_admin_routes_answer_403(visit) -> None:
    viewer: Visitor = visit("viewer", "acme")
    viewer.allow(403)
    assert viewer.goto("/admin/llm-costs/pricing") == 200
    expect(viewer.page.locator("#table-models tbody tr").first).to_be_visible()
    for control in ("[data-edit]", "[data-delete]", "#sync-form", "#add-manual", "#reprice-form"):
        expect(viewer.page.locator(control)).to_have_count(0)
    expect(viewer.page.locator("#fallback form")).to_have_count(0)
    expect(viewer.page.locator("#fallback-now")).to_contain_text("In force")
    for page in ("users", "keys", "audit"):
        assert viewer.goto(f"{BASE}/{page}") == 403
    viewer.goto("/admin/llm-costs/pricing")
    # the page's own CSRF token does not make the API accept what a viewer may not do
    statuses = viewer.page.evaluate(
        """calls => Promise.all(calls.map(([method, url, body]) => fetch(url, {
             method, credentials: "same-origin",
             headers: {"Content-Type": "application/json",
                       "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
             body: body ? JSON.stringify(body) : undefined}).then(r => r.status)))""",
        [list(c) for c in ADMIN_CALLS],
    )
    assert statuses == [403] * len(ADMIN_CALLS)


def test_every_admin_page_draws_without_console_errors(visit) -> None:
    admin: Visitor = visit("admin")
    for path in (
        "/admin/llm-costs/pricing",
        "/admin/llm-costs/pricing?source=fallback",
        f"{BASE}/users",
        f"{BASE}/tokens",
        f"{BASE}/keys",
        f"{BASE}/audit",
    ):
        assert admin.goto(path) == 200
        admin.page.wait_for_load_state("networkidle")
    assert admin.page.evaluate("document.documentElement.dataset.chartsDrawn") is None
    admin.goto("/admin/llm-costs/pricing")
    expect(admin.page.locator("html")).to_have_attribute("data-charts-drawn", "2")
