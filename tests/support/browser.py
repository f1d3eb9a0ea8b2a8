"""Debian's chromium driven by playwright, shared by every browser tier (the dashboard's pages in
``tests/browser/``, the admin pages in ``tests/admin/``): one browser per test session, and a
``Watch`` on each page that collects what a test fails on — console errors, uncaught page
errors, requests that failed or were answered with an error status, and any request to another
host than the server's own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, Response, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: generous: a loaded machine is slow, never wrong
WAIT_MS = 60_000
expect.set_options(timeout=WAIT_MS)


# Module scope, not session: while playwright's sync API runs, its event loop is this thread's
# running loop, so any later test calling asyncio.run() on the same worker would fail.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Watch:
    """Everything a page did wrong since it was watched (or since ``clear``)."""

    origin: str
    faults: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)

    @classmethod
    def on(cls, page: Page, server_url: str) -> Watch:
        watch = cls(_origin(server_url))
        page.on("console", watch._console)
        page.on("pageerror", lambda e: watch.faults.append(f"page error: {e}"))
        page.on("request", watch._request)
        page.on("requestfailed", watch._failed)
        page.on("response", watch._response)
        return watch

    def allow(self, status: int) -> None:
        """The test expects an answer with this status (a 403 page, say): the browser logs it
        as a console error, and neither that nor the answer is a fault of the page."""
        self.allowed.add(status)

    def clear(self) -> None:
        self.faults.clear()

    def _console(self, message: object) -> None:
        if getattr(message, "type", None) != "error":
            return
        text = str(getattr(message, "text", message))
        if any(f"status of {s} " in text for s in self.allowed):
            return
        self.faults.append(f"console error: {text}")

    def _request(self, request: Request) -> None:
        if request.url.startswith(("data:", "blob:", "about:")):
            return
        if _origin(request.url) != self.origin:
            self.faults.append(f"request to another host: {request.url}")

    def _failed(self, request: Request) -> None:
        # the browser fetches the tab's icon on its own, after the page; a navigation (the
        # test's next step) cancels that fetch when it is still under way on a slow machine
        if request.failure == "net::ERR_ABORTED" and "/static/icon." in request.url:
            return
        self.faults.append(f"failed request: {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.status not in self.allowed:
            self.faults.append(f"answered {response.status}: {response.url}")
