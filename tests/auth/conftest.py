"""Fixtures for access control: cheap argon2 (the production cost is 64 MiB a hash), users, and
logged-in clients. Every fixture that touches storage runs on SQLite and PostgreSQL through the
root ``ledger`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from llmledger.auth.passwords import hasher_for
from llmledger.auth.tokens import create_api_token
from llmledger.auth.users import create_user
from llmledger.auth.writing import writing
from llmledger.ledger import Ledger
from llmledger.settings import Settings

PASSWORD = "correct horse battery"

#: for tests of HTTP behaviour rather than storage: SQLite only (storage-touching logic, such as
#: the throttle's upsert, the audit log's triggers and tenant isolation, runs on both)
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The root settings with argon2 parameters that cost well under a millisecond."""
    return settings.model_copy(update={"password_time_cost": 1, "password_memory_kib": 32})


@dataclass
class Person:
    user: dict[str, Any]
    token: str
    password: str = PASSWORD

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def email(self) -> str:
        return str(self.user["email"])

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeUser = Callable[..., Person]


@pytest.fixture
def make_user(ledger: Ledger) -> MakeUser:
    """``make_user(email, role, org=None)``: a user with a password and one API token."""

    def make(email: str, role: str, org: str | None = None, password: str = PASSWORD) -> Person:
        with writing(ledger.engine) as conn:
            user = create_user(
                conn,
                hasher_for(ledger.settings),
                email=email,
                role=role,
                org_id=org,
                password=password,
            )
            token = create_api_token(
                conn, role=role, name=f"{email} token", org_id=org, user_id=user["id"]
            )[1]
        return Person(user, token, password)

    return make


def log_in(client: TestClient, person: Person) -> str:
    """Log ``client`` in as ``person``; returns the CSRF token."""
    r = client.post("/api/v1/auth/login", json={"email": person.email, "password": person.password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrfToken"])


@pytest.fixture
def browser(client: TestClient) -> Iterator[Callable[[], TestClient]]:
    """``browser()``: another client of the same app with its own cookie jar."""
    made: list[TestClient] = []

    def make() -> TestClient:
        c = TestClient(client.app, base_url="http://testserver")
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
