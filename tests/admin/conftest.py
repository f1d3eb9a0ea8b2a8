"""Fixtures for the admin pages: people of each role, logged in through the login API the way
the browser does (the session cookie, and the CSRF token the pages carry)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from tests.admin.browser import chromium, visit  # noqa: F401  (the browser tests' fixtures)
from tests.auth import conftest as access
from tests.auth.conftest import MakeUser, Person, log_in
from tests.conftest import Clock

# the access tests' fixtures: cheap argon2, and users with a password and a token
settings = access.settings
make_user = access.make_user


@dataclass
class Session:
    client: TestClient
    person: Person
    csrf: str

    def change(self, method: str, url: str, **kwargs: object):  # type: ignore[no-untyped-def]
        """A change as the page's script makes it: the cookie and the CSRF header."""
        headers = {"X-CSRF-Token": self.csrf}
        return self.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def session_as(ledger: Ledger, clock: Clock, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``session_as(role, org=None)``: a fresh client logged in as a new user of that role."""
    opened: list[TestClient] = []
    new_user: MakeUser = request.getfixturevalue("make_user")

    def make(role: str, org: str | None = None) -> Session:
        person = new_user(f"{role}{len(opened)}@example.com", role, org)
        client = TestClient(create_app(ledger=ledger, clock=clock), base_url="http://testserver")
        client.__enter__()
        opened.append(client)
        return Session(client, person, log_in(client, person))

    yield make
    for c in opened:
        c.__exit__(None, None, None)
