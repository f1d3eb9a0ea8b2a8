"""The password throttle (docs/access.md, "Throttling"): a try is counted before its password is
checked, an attacker cannot lock the owner out, and a password change is throttled like a
login. On SQLite and PostgreSQL: the counters are rows every app node shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.auth.tables import login_failures
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from tests.auth.conftest import Gate, HeldHasher, MakeUser, log_in, sqlite_only
from tests.conftest import Clock

LOGIN = "/api/v1/auth/login"
LIMIT = 5  # LLMLEDGER_LOGIN_MAX_FAILURES, the default


def test_parallel_wrong_logins_check_at_most_the_limit_of_passwords(
    ledger: Ledger, make_user: MakeUser, clock: Clock
) -> None:
    victim = make_user("admin@x.example", "admin")
    gate = Gate()
    app = create_app(ledger=ledger, clock=clock, password_hasher=HeldHasher(gate, {"verify"}))
    tries = 50

    def wrong(client: TestClient) -> int:
        try:
            r = client.post(LOGIN, json={"email": victim.email, "password": "guess number x"})
            return r.status_code
        finally:
            gate.answer()

    with TestClient(app) as client, ThreadPoolExecutor(tries) as pool:
        answers = [pool.submit(wrong, client) for _ in range(tries)]
        # The checks are held at the gate. Open it once more than the limit are waiting (the
        # throttle let too many through), or once every other try has been answered.
        assert gate.wait_until(lambda g: g.arrived > LIMIT or g.arrived + g.answered >= tries)
        checked = gate.arrived
        gate.open()
        codes = sorted(f.result(timeout=60) for f in answers)
    assert checked <= LIMIT, f"{checked} passwords checked for a limit of {LIMIT}"
    assert codes == [401] * LIMIT + [429] * (tries - LIMIT)
    assert gate.arrived == LIMIT
    with TestClient(app) as client:  # the right password, from the same place: locked
        r = client.post(LOGIN, json={"email": victim.email, "password": victim.password})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


@pytest.fixture
def app_with_limits(ledger: Ledger, clock: Clock):  # type: ignore[no-untyped-def]
    settings = ledger.settings.model_copy(update={"login_max_failures_per_account": 10})
    return create_app(settings, ledger=ledger, clock=clock)


@pytest.fixture
def from_address(app_with_limits) -> Iterator:  # type: ignore[no-untyped-def]
    """``from_address(ip)``: a browser (its own cookie jar) at a client address."""
    made: list[TestClient] = []

    def make(ip: str) -> TestClient:
        c = TestClient(app_with_limits, base_url="http://testserver", client=(ip, 50000))
        made.append(c)
        return c

    with TestClient(app_with_limits):  # runs the app's startup once
        yield make
    for c in made:
        c.close()


def test_an_attacker_cannot_lock_the_owner_out(
    from_address, make_user: MakeUser, clock: Clock
) -> None:
    owner = make_user("admin@x.example", "admin")
    wrong = {"email": owner.email, "password": "not the password"}
    right = {"email": owner.email, "password": owner.password}
    home = from_address("203.0.113.1")
    log_in(home, owner)  # this browser is known from now on

    attacker = from_address("198.51.100.1")
    for _ in range(LIMIT):
        assert attacker.post(LOGIN, json=wrong).status_code == 401
    r = attacker.post(LOGIN, json=right)
    assert r.status_code == 429  # this account from this address is locked...
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    # ...but not from anywhere else, even in a browser that never logged in
    assert from_address("203.0.113.2").post(LOGIN, json=right).status_code == 200

    # Guesses from many addresses pass the per-account limit (10 here): from then on, tries
    # from unknown browsers are spaced out, one per window / limit (90 s), not refused.
    for i in range(LIMIT):
        assert from_address(f"198.51.100.{10 + i}").post(LOGIN, json=wrong).status_code == 401
    assert from_address("198.51.100.20").post(LOGIN, json=wrong).status_code == 401  # a slot
    r = from_address("198.51.100.21").post(LOGIN, json=wrong)
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 90
    assert from_address("203.0.113.3").post(LOGIN, json=right).status_code == 429  # slowed
    # the owner's own browser is never slowed down by guesses made elsewhere
    assert home.post(LOGIN, json=right).status_code == 200
    # a forged device cookie, or another account's, is no known browser
    forged = from_address("198.51.100.23")
    forged.cookies.set("llmledger_device", home.cookies["llmledger_device"] + "x")
    assert forged.post(LOGIN, json=right).status_code == 429
    clock.now += dt.timedelta(seconds=91)  # the next slot
    assert from_address("203.0.113.3").post(LOGIN, json=right).status_code == 200


def test_a_known_browser_is_locked_by_its_own_failures_only(
    from_address, make_user: MakeUser
) -> None:
    owner = make_user("v@acme.example", "viewer", "acme")
    home = from_address("203.0.113.1")
    log_in(home, owner)
    wrong = {"email": owner.email, "password": "not the password"}
    # its own counter, then (full) the counters of an unknown browser at its address
    codes = [home.post(LOGIN, json=wrong).status_code for _ in range(2 * LIMIT + 1)]
    assert codes == [401] * (2 * LIMIT) + [429]
    assert (
        from_address("203.0.113.9")
        .post(LOGIN, json={"email": owner.email, "password": owner.password})
        .status_code
        == 200
    )


@sqlite_only
def test_password_changes_need_a_session_and_are_throttled_like_logins(
    client: TestClient, make_user: MakeUser, clock: Clock
) -> None:
    viewer = make_user("v@acme.example", "viewer", "acme")
    body = {"currentPassword": "a wrong guess", "newPassword": "a brand new secret"}
    for _ in range(12):  # an API token is no oracle for the password
        r = client.post("/api/v1/me/password", json=body, headers=viewer.bearer)
        assert r.status_code == 403 and "login session" in r.json()["detail"]
    csrf = {"X-CSRF-Token": log_in(client, viewer)}
    # wrong current passwords count like failed logins (this browser's, then its address's)
    codes = [
        client.post("/api/v1/me/password", json=body, headers=csrf).status_code
        for _ in range(2 * LIMIT + 1)
    ]
    assert codes == [403] * (2 * LIMIT) + [429]
    body["currentPassword"] = viewer.password
    r = client.post("/api/v1/me/password", json=body, headers=csrf)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    clock.now += dt.timedelta(minutes=15, seconds=1)
    assert client.post("/api/v1/me/password", json=body, headers=csrf).status_code == 204


def test_right_passwords_are_given_back_and_old_counters_dropped(
    from_address, make_user: MakeUser, ledger: Ledger, clock: Clock
) -> None:
    owner = make_user("v@acme.example", "viewer", "acme")
    office = "192.0.2.1"  # everyone behind one address
    for _ in range(25):  # more than the per-address limit of 20: successes are no failures
        log_in(from_address(office), owner)
    with ledger.engine.connect() as conn:
        counts = dict(conn.execute(select(login_failures.c.key, login_failures.c.failures)).all())
    assert counts == {f"addr:{office}": 0, f"account:{owner.email}": 0}
    guessed = {"email": "nobody@x.example", "password": "a wrong guess"}
    assert from_address(office).post(LOGIN, json=guessed).status_code == 401
    clock.now += dt.timedelta(minutes=31)  # two windows later, a failure tidies up
    assert from_address("192.0.2.2").post(LOGIN, json=guessed).status_code == 401
    with ledger.engine.connect() as conn:
        keys = set(conn.execute(select(login_failures.c.key)).scalars())
    assert keys == {"account:nobody@x.example", "addr:192.0.2.2", "pair:nobody@x.example|192.0.2.2"}
