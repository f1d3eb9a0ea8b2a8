"""``llmledger users``, ``tokens`` and ``keys``, run in process on a fresh SQLite data directory;
and the demo credentials ``serve --demo`` prints."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from llmledger.auth.audit import list_audit
from llmledger.auth.tables import users
from llmledger.auth.tokens import Principal, resolve_bearer
from llmledger.cli import _demo_if_empty, main
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from llmledger.store import tables as t


@pytest.fixture
def env(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLMLEDGER_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("LLMLEDGER_PASSWORD_MEMORY_KIB", "32")
    monkeypatch.delenv("LLMLEDGER_DATABASE_URL", raising=False)
    return Settings()


def run(*args: str, input: str | None = None, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_users_from_the_command_line(env: Settings) -> None:
    out = run(
        "users",
        "create",
        "--email",
        "Ann@X.example",
        "--role",
        "admin",
        input="a long password\na long password\n",
    )
    assert "created admin ann@x.example" in out
    run(
        "users",
        "create",
        "--email",
        "v@acme.example",
        "--role",
        "viewer",
        "--org",
        "acme",
        "--password-stdin",
        input="viewer password\n",
    )
    run(
        "users",
        "create",
        "--email",
        "bot@acme.example",
        "--role",
        "viewer",
        "--org",
        "acme",
        "--no-password",
    )
    assert "needs an organisation" in run(
        "users", "create", "--email", "x@y.example", "--role", "viewer", "--no-password", ok=False
    )
    assert "exists" in run(
        "users", "create", "--email", "ann@x.example", "--role", "admin", "--no-password", ok=False
    )
    listed = run("users", "list").splitlines()
    assert [line.split("\t")[1] for line in listed] == [
        "ann@x.example",
        "v@acme.example",
        "bot@acme.example",
    ]
    assert len(run("users", "list", "--org", "acme").splitlines()) == 2
    assert "now org_admin acme" in run("users", "set-role", "v@acme.example", "org_admin")
    assert "last active admin" in run("users", "deactivate", "ann@x.example", ok=False)
    assert "no user" in run("users", "deactivate", "nobody@x.example", ok=False)
    run("users", "set-password", "v@acme.example", "--password-stdin", input="another password\n")
    token = run("tokens", "create", "--user", "v@acme.example", "--name", "ci").strip()
    led = Ledger.open(env, upgrade=False)

    def who() -> Principal | None:
        with led.engine.connect() as conn:
            return resolve_bearer(conn, token)

    try:
        p = who()
        assert p is not None and (p.role, p.org_id, p.label) == (
            "org_admin",
            "acme",
            "v@acme.example",
        )
        run("users", "deactivate", "v@acme.example")
        assert who() is None  # at once
        run("users", "activate", "v@acme.example")
        assert who() is None  # revoked for good: letting them in again needs a new token
        token = run("tokens", "create", "--user", "v@acme.example", "--name", "ci2").strip()
        assert who() is not None
        with led.engine.connect() as conn:
            entries = list_audit(conn)["entries"]
    finally:
        led.close()
    actions = [e["action"] for e in entries]
    labels = {e["actor"]["label"] for e in entries}
    assert actions.count("user.create") == 3 and "user.password" in actions
    assert "token.create" in actions and actions.count("user.update") == 3
    assert len(labels) == 1 and labels.pop().startswith("cli:")


def test_tokens_list_and_revoke(env: Settings) -> None:
    run("users", "create", "--email", "ann@x.example", "--role", "admin", "--no-password")
    mine = run("tokens", "create", "--user", "ann@x.example").strip()
    admin = run("tokens", "create", "--admin", "--name", "boot").strip()
    assert mine.startswith("llt_") and admin.startswith("llt_")
    assert "no active user" in run("tokens", "create", "--user", "x@y.example", ok=False)
    assert "--admin" in run("tokens", "create", ok=False)
    assert "--admin" in run("tokens", "create", "--admin", "--user", "ann@x.example", ok=False)
    lines = run("tokens", "list").splitlines()
    assert len(lines) == 2 and mine not in "".join(lines) and "never" in lines[0]
    assert len(run("tokens", "list", "--user", "ann@x.example").splitlines()) == 1
    first_id = lines[0].split("\t")[0]
    assert "revoked token" in run("tokens", "revoke", first_id)
    assert "no live token" in run("tokens", "revoke", first_id, ok=False)
    assert len(run("tokens", "list").splitlines()) == 1
    assert "revoked" in run("tokens", "list", "--revoked")


def test_ingest_keys_made_on_the_command_line_are_audited(env: Settings) -> None:
    secret = run("keys", "create", "--org", "acme", "--name", "collector").strip()
    led = Ledger.open(env)
    try:
        with led.engine.connect() as conn:
            entries = list_audit(conn, action="key.create")["entries"]
    finally:
        led.close()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["orgId"] == "acme" and entry["actor"]["kind"] == "cli"
    assert entry["after"]["name"] == "collector"
    assert secret not in str(entry)  # the key itself is never kept


def test_demo_prints_logins_that_work(env: Settings, capsys) -> None:
    led = Ledger.open(env)
    try:
        _demo_if_empty(led, events=200)  # an empty database: demo traffic and credentials
        out = capsys.readouterr().out
        logins = [line.split(": ")[1].split(" / ") for line in out.splitlines() if "login" in line]
        assert len(logins) == 2 and "demo admin token (shown once): llt_" in out
        with TestClient(create_app(ledger=led)) as client:
            for email, password in logins:
                r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
                assert r.status_code == 200, r.text
            assert r.json()["user"]["role"] == "viewer" and r.json()["user"]["orgId"]
    finally:
        led.close()


def _held(led: Ledger) -> tuple[int, ...]:
    with led.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (t.events, users, t.api_tokens)
        )


@pytest.mark.parametrize("holds", ["events", "a user", "a token"])
def test_demo_leaves_a_database_with_data_alone(env: Settings, capsys, holds: str) -> None:
    """On a real deployment, ``serve --demo`` once made (or reset) a demo admin with a printed
    password and a new admin token at every restart: a known way in."""
    led = Ledger.open(env)
    try:
        if holds == "events":
            event = UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                provider="openai",
                model="gpt-4o",
                org_id="acme",
                input_tokens=10,
                output_tokens=1,
            )
            led.write([event])
        elif holds == "a user":
            run("users", "create", "--email", "ops@example.com", "--role", "admin", "--no-password")
        else:
            run("tokens", "create", "--admin")
        capsys.readouterr()
        before = _held(led)
        _demo_if_empty(led, events=200)
        out = capsys.readouterr().out
        assert out.startswith("--demo does nothing: the database already holds ")
        assert "shown once" not in out
        assert _held(led) == before
    finally:
        led.close()
