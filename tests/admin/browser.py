"""Real chromium against a real server for the admin pages: a live server on the test's database,
people logged in through the login page, and every console error and page error collected (a
test fails on any). The browser and its settings are shared with the dashboard's tier
(``tests/support/browser.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.auth.conftest import MakeUser, Person
from tests.support.browser import WAIT_MS, chromium
from tests.support.live import LiveServer

__all__ = ["Visitor", "chromium", "visit"]


@dataclass
class Visitor:
    page: Page
    person: Person
    server: LiveServer
    errors: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)

    def allow(self, status: int) -> None:
        """The test expects the API to refuse with ``status``: the browser logs each refused
        call as a console error, and those are not faults of the page."""
        self.allowed.add(status)

    def faults(self) -> list[str]:
        expected = tuple(f"status of {s} " for s in self.allowed)
        return [e for e in self.errors if not (expected and any(x in e for x in expected))]

    def goto(self, path: str) -> int:
        response = self.page.goto(self.server.url + path)
        assert response is not None
        return response.status

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The API as an admin script calls it (to check what the page did)."""
        headers = {"Authorization": f"Bearer {self.server.admin_token}"}
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=60) as c:
            return c.request(method, path, **kwargs)

    def confirm(self, yes: str) -> None:
        """Answer the page's confirmation dialog with its yes button."""
        self.page.locator("dialog.confirm button.danger", has_text=yes).click()


@pytest.fixture
def visit(chromium: Browser, live_server: LiveServer, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``visit(role, org=None)``: a new browser context logged in as a new user of that role."""
    new_user: MakeUser = request.getfixturevalue("make_user")
    visitors: list[Visitor] = []

    def make(role: str, org: str | None = None) -> Visitor:
        person = new_user(f"{role}{len(visitors)}@example.com", role, org)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        visitor = Visitor(page, person, live_server)
        page.on("console", lambda m: visitor.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: visitor.errors.append(str(e)))
        page.goto(f"{live_server.url}/login")
        page.fill("input[name=email]", person.email)
        page.fill("input[name=password]", person.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/llm-costs**")
        visitors.append(visitor)
        return visitor

    yield make
    for v in visitors:
        v.page.context.close()
    # no console errors on any page any test visited
    assert not [e for v in visitors for e in v.faults()]
