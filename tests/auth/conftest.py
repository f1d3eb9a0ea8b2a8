"""Fixtures for access control: cheap argon2 (the production cost is 64 MiB a hash), users, and
logged-in clients. Every fixture that touches storage runs on SQLite and PostgreSQL through the
root ``ledger`` fixture."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher, Type
from fastapi.testclient import TestClient

from llmledger.auth.passwords import hash_password, hasher_for
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
        digest = hash_password(hasher_for(ledger.settings), password)
        with writing(ledger.engine) as conn:
            user = create_user(conn, email=email, role=role, org_id=org, password_hash=digest)
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


class Gate:
    """Where held argon2 calls wait until the test opens it; counts who arrived."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = False
        self.arrived = 0
        self.answered = 0  # for the test's own bookkeeping (requests answered)

    def pass_through(self) -> None:
        with self._cond:
            self.arrived += 1
            self._cond.notify_all()
            assert self._cond.wait_for(lambda: self._open, timeout=60), "the gate never opened"

    def answer(self) -> None:
        with self._cond:
            self.answered += 1
            self._cond.notify_all()

    def wait_until(self, condition: Callable[[Gate], bool], timeout: float = 60) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: condition(self), timeout)

    def open(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()


class HeldHasher(PasswordHasher):
    """Real argon2id (with the cheap test parameters unless told otherwise) whose ``hash``
    and/or ``verify`` first wait at a gate: a test can hold a request while it hashes."""

    def __init__(self, gate: Gate, held: set[str], time_cost: int = 1) -> None:
        super().__init__(time_cost=time_cost, memory_cost=32, parallelism=4, type=Type.ID)
        self.gate, self.held = gate, held

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        if "hash" in self.held:
            self.gate.pass_through()
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        if "verify" in self.held:
            self.gate.pass_through()
        return super().verify(hash, password)
