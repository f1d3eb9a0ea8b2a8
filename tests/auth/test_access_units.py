"""Access-control building blocks without HTTP: passwords, masking, users, tokens, audit rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from llmledger.auth.audit import MASK, cli_actor, list_audit, mask, record_audit
from llmledger.auth.passwords import WeakPassword, hash_password, hasher_for, verify_password
from llmledger.auth.sessions import cookie_value, csrf_ok, csrf_token, read_cookie
from llmledger.auth.tables import audit_log
from llmledger.auth.tokens import (
    LAST_USE_EVERY_US,
    Principal,
    create_api_token,
    identify_bearer,
    record_last_use,
    resolve_bearer,
    revoke_api_token,
)
from llmledger.auth.users import (
    DuplicateEmail,
    UserError,
    create_user,
    get_user_by_email,
    update_user,
)
from llmledger.auth.writing import writing
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store import tables as t

CHEAP = Settings(database_url="sqlite://", password_time_cost=1, password_memory_kib=32)


def test_passwords_are_argon2id_and_verify_in_constant_shape() -> None:
    hasher = hasher_for(CHEAP)
    stored = hash_password(hasher, "a good password")
    assert stored.startswith("$argon2id$")
    assert verify_password(hasher, stored, "a good password")
    assert not verify_password(hasher, stored, "a good passworD")
    assert not verify_password(hasher, None, "a good password")  # no user: still a hash
    assert not verify_password(hasher, "not a hash", "x")
    assert not verify_password(hasher, stored, "x" * 5000)


@pytest.mark.parametrize("bad", ["short", " padded password", "nul\x00inside it", "x" * 2000])
def test_weak_passwords_are_refused(bad: str) -> None:
    with pytest.raises(WeakPassword):
        hash_password(hasher_for(CHEAP), bad)


def test_mask_hides_secrets_by_name_and_by_shape() -> None:
    masked = mask(
        {
            "password": "hunter2",
            "newPassword": "x",
            "tokenHash": "abc",
            "apiKey": "sk-123",
            "webhookUrl": "https://hooks.slack.com/services/T/B/X",
            "nested": [{"secret": "s", "hasPassword": True, "tokenId": 3}],
            "note": "llt_" + "a" * 43,
            "prefix": "llt_abcdefgh",
            "price": Decimal("1.25"),
            "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "inputTokens": 12,
        }
    )
    assert masked["password"] == masked["newPassword"] == masked["tokenHash"] == MASK
    assert masked["apiKey"] == masked["webhookUrl"] == masked["note"] == MASK
    assert masked["nested"] == [{"secret": MASK, "hasPassword": True, "tokenId": 3}]
    assert masked["prefix"] == "llt_abcdefgh"  # a prefix identifies a token, it is no secret
    assert masked["price"] == "1.25" and masked["at"].startswith("2026-01-01")
    assert masked["inputTokens"] == 12


def test_cookies_and_csrf_tokens_are_signed() -> None:
    value = cookie_value("k1", "session-id")
    assert read_cookie("k1", value, 60) == "session-id"
    assert read_cookie("k2", value, 60) is None  # another key
    assert read_cookie("k1", value[:-2] + "xx", 60) is None  # tampered
    assert read_cookie("k1", "garbage", 60) is None
    assert read_cookie("k1", "x" * 1000, 60) is None
    token = csrf_token("k1", "session-id")
    assert csrf_ok("k1", "session-id", token)
    assert not csrf_ok("k1", "other-session", token)
    assert not csrf_ok("k1", "session-id", None)


def test_users_validate_and_the_last_admin_stays(ledger: Ledger) -> None:
    with writing(ledger.engine) as conn:
        admin = create_user(conn, email=" Ann@Example.COM ", role="admin")
        assert admin["email"] == "ann@example.com" and admin["orgId"] is None
        with pytest.raises(DuplicateEmail):
            create_user(conn, email="ann@example.com", role="viewer", org_id="acme")
        for bad in (
            {"email": "not-an-email", "role": "admin"},
            {"email": "v@x.io", "role": "viewer"},  # a scoped role needs an organisation
            {"email": "v@x.io", "role": "superuser"},
            {"email": "v@x.io", "role": "viewer", "org_id": "a\x00b"},
        ):
            with pytest.raises(UserError):
                create_user(conn, **bad)
        with pytest.raises(UserError, match="last active admin"):
            update_user(conn, admin["id"], role="viewer", org_id="acme")
        with pytest.raises(UserError, match="last active admin"):
            update_user(conn, admin["id"], active=False)
        create_user(conn, email="bob@example.com", role="admin")
        found = update_user(conn, admin["id"], role="viewer", org_id="acme")
        assert found is not None and found[1]["role"] == "viewer"
        assert update_user(conn, 9999, name="x") is None
        assert get_user_by_email(conn, "ANN@example.com") is not None


def test_user_tokens_follow_their_user(ledger: Ledger) -> None:
    with writing(ledger.engine) as conn:
        user = create_user(conn, email="v@x.io", role="viewer", org_id="acme")
        _, secret = create_api_token(
            conn, role="viewer", name="t", org_id="acme", user_id=user["id"]
        )
    with ledger.engine.connect() as conn:
        p = resolve_bearer(conn, secret)
    assert p == Principal("token", "viewer", "acme", p.credential_id, user["id"], "v@x.io")
    with writing(ledger.engine) as conn:
        update_user(conn, user["id"], role="org_admin", org_id="globex")
    with ledger.engine.connect() as conn:
        p = resolve_bearer(conn, secret)
    assert p is not None and (p.role, p.org_id) == ("org_admin", "globex")
    with writing(ledger.engine) as conn:
        update_user(conn, user["id"], active=False)
    with ledger.engine.connect() as conn:
        assert resolve_bearer(conn, secret) is None
        assert resolve_bearer(conn, secret + "x") is None
        assert resolve_bearer(conn, "x" * 500) is None


def test_last_use_is_written_at_most_once_a_minute(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        token_id, secret = create_api_token(conn, role="admin", name="t")
    at = 1_800_000_000_000_000
    with ledger.engine.connect() as conn:
        found = identify_bearer(conn, secret, at)
    assert found is not None and found[1]  # never used: due
    with ledger.engine.begin() as conn:
        record_last_use(conn, found[0], at)
        record_last_use(conn, found[0], at + 1)  # a no-op: noted a microsecond ago
    with ledger.engine.connect() as conn:
        assert identify_bearer(conn, secret, at + 5_000_000) == (found[0], False)
        assert identify_bearer(conn, secret, at + LAST_USE_EVERY_US) == (found[0], True)
        stored = conn.execute(
            select(t.api_tokens.c.last_used_us).where(t.api_tokens.c.id == token_id)
        ).scalar_one()
    assert stored == at
    with ledger.engine.begin() as conn:
        assert revoke_api_token(conn, token_id)
        assert not revoke_api_token(conn, token_id)
    with ledger.engine.connect() as conn:
        assert identify_bearer(conn, secret, at) is None


def test_audit_rows_are_masked_filtered_and_append_only(ledger: Ledger) -> None:
    actor = cli_actor()
    with ledger.engine.begin() as conn:
        first = record_audit(
            conn,
            actor=actor,
            action="user.create",
            target="user:1",
            after={"email": "a@x.io", "password": "hunter22"},
            org_id="acme",
            at_us=1_000,
        )
        record_audit(conn, actor=actor, action="token.revoke", target="token:9", at_us=2_000)
        record_audit(conn, actor=actor, action="user_x.create", target="user:2", at_us=3_000)
    with ledger.engine.connect() as conn:
        assert [e["target"] for e in list_audit(conn)["entries"]] == ["user:2", "token:9", "user:1"]
        users = list_audit(conn, action="user")["entries"]
        assert [e["id"] for e in users] == [first]  # a kind, not a LIKE pattern
        assert users[0]["after"] == {"email": "a@x.io", "password": MASK}
        assert users[0]["actor"]["label"].startswith("cli:")
        page = list_audit(conn, limit=2)
        assert len(page["entries"]) == 2 and page["nextCursor"] is not None
        rest = list_audit(conn, limit=2, cursor=page["nextCursor"])["entries"]
        assert [e["id"] for e in rest] == [first]
        assert list_audit(conn, start_us=1_500, end_us=2_500)["entries"][0]["target"] == "token:9"
        assert list_audit(conn, org_id="acme")["entries"][0]["id"] == first
    for change in (
        update(audit_log).values(target="user:666"),
        delete(audit_log).where(audit_log.c.id == first),
    ):
        with pytest.raises(DBAPIError, match="append-only"), ledger.engine.begin() as conn:
            conn.execute(change)
