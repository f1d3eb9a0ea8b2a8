"""Provider keys stored through the API: write-only, encrypted at rest under the server secret,
shown only as set / last four / last used, preferred over the environment by imports, audited
without the key; on SQLite and PostgreSQL."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from llmledger.auth.tables import audit_log
from llmledger.auth.tokens import create_api_token
from llmledger.ledger import Ledger
from llmledger.providers.credentials import fernet
from llmledger.providers.errors import ReportError
from llmledger.providers.imports import run_import
from llmledger.providers.tables import provider_credentials
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import (
    OPENAI_COSTS,
    OPENAI_USAGE,
    RANGE,
    settings_for,
    stored,
)

URL = "/api/v1/admin/providers/openai/credentials"


def test_a_stored_key_is_write_only_encrypted_and_used_by_imports(
    ledger: Ledger, client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get(URL, headers=admin).json()["keySet"] is False
    r = client.put(URL, json={"key": OPENAI_KEY}, headers=admin)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["keySet"] is True and shown["lastFour"] == OPENAI_KEY[-4:]
    assert shown["lastUsedAt"] is None
    assert OPENAI_KEY not in r.text and OPENAI_KEY not in client.get(URL, headers=admin).text
    with ledger.engine.connect() as conn:
        token = conn.execute(select(provider_credentials.c.ciphertext)).scalar_one()
        audits = [dict(a._mapping) for a in conn.execute(select(audit_log))]
    assert OPENAI_KEY not in token
    secret = client.app.state.secret_key  # type: ignore[attr-defined]
    assert fernet(secret).decrypt(token.encode()).decode() == OPENAI_KEY
    assert [a["action"] for a in audits] == ["provider_credentials.set"]
    assert OPENAI_KEY not in str(audits)

    # the stored key wins over a wrong one in the environment
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-proj-not-an-admin-key")
    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        client.app.state.ledger.settings = settings_for(ledger, url)  # type: ignore[attr-defined]
        ran = client.post(
            "/api/v1/admin/imports/openai/run",
            json={"since": "2026-11-01", "until": "2026-11-03"},
            headers=admin,
        )
        assert ran.status_code == 200, ran.text
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
    assert client.get(URL, headers=admin).json()["lastUsedAt"] is not None
    listed = client.get("/api/v1/admin/imports", headers=admin).json()["providers"]
    assert {p["provider"]: p["keyStored"] for p in listed} == {
        "openai": True,
        "anthropic": False,
        "groq": False,
    }

    gone = client.delete(URL, headers=admin)
    assert gone.status_code == 200 and gone.json()["keySet"] is False
    assert client.delete(URL, headers=admin).status_code == 404


def test_a_key_stored_under_another_secret_is_an_error_not_a_fallback(
    ledger: Ledger, client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.put(URL, json={"key": OPENAI_KEY}, headers=admin).status_code == 200
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    other = ledger.settings.model_copy(update={"secret_key": SecretStr("another-secret-key-x")})
    with pytest.raises(ReportError, match=r"cannot be decrypted.*set it again"):
        run_import(ledger.engine, other, "openai", **RANGE)


def test_bad_keys_and_callers_who_are_not_admins_are_refused(
    ledger: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    for key in ("short", "sk admin with spaces", "x" * 600):
        r = client.put(URL, json={"key": key}, headers=admin)
        assert r.status_code == 422 and "key" in r.text, key
    assert client.put(URL, json={"key": OPENAI_KEY, "extra": 1}, headers=admin).status_code == 422
    unknown = "/api/v1/admin/providers/mistral/credentials"
    assert client.put(unknown, json={"key": OPENAI_KEY}, headers=admin).status_code == 422
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", name="v", org_id="acme")[1]
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    assert client.put(URL, json={"key": OPENAI_KEY}, headers=as_viewer).status_code == 403
    assert client.get(URL, headers=as_viewer).status_code == 403
    with ledger.engine.connect() as conn:
        assert conn.execute(select(provider_credentials)).all() == []
