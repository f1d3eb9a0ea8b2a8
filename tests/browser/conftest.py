"""The dashboard in real chromium against a real ``llmledger serve --demo``: one server process
per test session (on 127.0.0.1, a free port, a temporary data directory; stopped at the end),
a browser per test module (playwright's loop must not outlive a module: see
``tests/support/browser.py``), and people logged in once with the demo logins the server
printed.

``LLMLEDGER_SCREENSHOTS=1`` writes the screenshots the tests take into ``docs/screenshots/``;
without it they go to a temporary directory, so a test run never changes the tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from llmledger.settings import Settings
from tests.support.browser import WAIT_MS, Watch, chromium
from tests.support.databases import PostgresDatabase, pg_reachable
from tests.support.served import ServedLedger

__all__ = ["chromium"]

#: enough for every page to have rows, charts, sessions and fallback-priced calls
DEMO_EVENTS = 20_000
PG_DEMO_EVENTS = 5_000
API = "/api/v1/admin/llm-costs"
REPO = Path(__file__).resolve().parents[2]
LOGIN = re.compile(r"demo (admin|viewer)(?: of (\S+))? login \(shown once\): (\S+) / (\S+)")
TOKEN = re.compile(r"demo admin token \(shown once\): (\S+)")


@dataclass
class DemoServer:
    url: str
    token: str
    logins: dict[str, tuple[str, str]]  # role -> (email, password)
    viewer_org: str

    def api(self, path: str, **params: Any) -> Any:
        """The JSON API as an admin script reads it (what the pages must agree with)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        clean = {k: v for k, v in params.items() if v is not None}
        r = httpx.get(self.url + path, params=clean, headers=headers, timeout=60)
        r.raise_for_status()
        return r.json()


def _serve_demo(settings: Settings, out: Path, events: int) -> Iterator[DemoServer]:
    args = ["--demo", "--demo-events", str(events)]
    server = ServedLedger(settings, args=args, output=out, start_seconds=300)
    with server:
        text = out.read_text()
        logins = {m[1]: (m[3], m[4]) for m in LOGIN.finditer(text)}
        viewer_org = next(m[2] for m in LOGIN.finditer(text) if m[1] == "viewer")
        token = TOKEN.search(text)
        assert token is not None and set(logins) == {"admin", "viewer"}, text
        yield DemoServer(server.url, token[1], logins, viewer_org)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """``llmledger serve --demo`` on SQLite, as a new user first runs it."""
    root = tmp_path_factory.mktemp("demo")
    settings = Settings(data_dir=root / "data", database_url=f"sqlite:///{root}/data/ledger.db")
    yield from _serve_demo(settings, root / "serve.out", DEMO_EVENTS)


@pytest.fixture(scope="session")
def pg_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The same on a PostgreSQL database of its own (dropped at the end)."""
    reason = pg_reachable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but cannot be reached: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")
    db = PostgresDatabase()
    try:
        root = tmp_path_factory.mktemp("pg-demo")
        settings = db.settings_for(root / "data")
        yield from _serve_demo(settings, root / "serve.out", PG_DEMO_EVENTS)
    finally:
        db.drop()


def log_in(browser: Browser, server: DemoServer, role: str) -> Any:
    """The browser state (session cookie) of a demo person, logged in through the login page."""
    email, password = server.logins[role]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/llm-costs**", timeout=WAIT_MS)
    state = context.storage_state()
    context.close()
    return state


@dataclass
class Tab:
    """A page in a context of its own, logged in, with its watch."""

    page: Page
    watch: Watch
    server: DemoServer

    def goto(self, path: str) -> int:
        response = self.page.goto(self.server.url + path, wait_until="load")
        assert response is not None
        return response.status

    def charts_drawn(self) -> None:
        """Wait until charts.js has drawn every chart of the page (pages without charts have
        nothing to wait for)."""
        if self.page.locator(".chart-box[data-figure]").count():
            self.page.locator("html[data-charts-drawn]").wait_for(state="attached")


OpenTab = Callable[..., Tab]


class Contexts:
    """One logged-in browser context per person and width for the whole session, so the
    charting library is fetched and compiled once, not once per test."""

    def __init__(self, browser: Browser, server: DemoServer, states: dict[str, Any]) -> None:
        self.browser, self.server = browser, server
        self._states = states  # role -> cookies: people log in once per test session
        self._contexts: dict[tuple[str, int], BrowserContext] = {}

    def get(self, role: str, width: int) -> BrowserContext:
        key = (role, width)
        if key not in self._contexts:
            if role not in self._states:
                self._states[role] = log_in(self.browser, self.server, role)
            context = self.browser.new_context(
                viewport={"width": width, "height": 900},
                storage_state=self._states[role],
                accept_downloads=True,
            )
            context.set_default_timeout(WAIT_MS)
            self._contexts[key] = context
        return self._contexts[key]

    def close(self) -> None:
        for context in self._contexts.values():
            context.close()


def _tabs(contexts: Contexts) -> Iterator[OpenTab]:
    opened: list[Tab] = []

    def open_tab(role: str = "admin", width: int = 1280) -> Tab:
        page = contexts.get(role, width).new_page()
        tab = Tab(page, Watch.on(page, contexts.server.url), contexts.server)
        opened.append(tab)
        return tab

    yield open_tab
    faults = [f for t in opened for f in t.watch.faults]
    for t in opened:
        t.page.close()
    assert not faults, faults


@pytest.fixture(scope="session")
def _logins() -> dict[str, dict[str, Any]]:
    return {"sqlite": {}, "postgresql": {}}


# per module, as the browser is (see tests/support/browser.py)
@pytest.fixture(scope="module")
def _contexts(
    chromium: Browser, demo: DemoServer, _logins: dict[str, dict[str, Any]]
) -> Iterator[Contexts]:
    contexts = Contexts(chromium, demo, _logins["sqlite"])
    yield contexts
    contexts.close()


@pytest.fixture(scope="module")
def _pg_contexts(
    chromium: Browser, pg_demo: DemoServer, _logins: dict[str, dict[str, Any]]
) -> Iterator[Contexts]:
    contexts = Contexts(chromium, pg_demo, _logins["postgresql"])
    yield contexts
    contexts.close()


@pytest.fixture
def open_tab(_contexts: Contexts) -> Iterator[OpenTab]:
    """``open_tab(role="admin", width=1280)``: a new page, logged in, on the demo server; the
    test fails on any fault any of its pages showed."""
    yield from _tabs(_contexts)


@pytest.fixture
def open_pg_tab(_pg_contexts: Contexts) -> Iterator[OpenTab]:
    """The same on the PostgreSQL demo server."""
    yield from _tabs(_pg_contexts)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("LLMLEDGER_SCREENSHOTS") == "1":
        target = REPO / "docs" / "screenshots"
        target.mkdir(exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")
