"""LiteLLM's catalog format: parsed into rows, synced through the API (uploaded, served from a
local HTTP server, or found in an installed litellm), idempotent, guarded and never touching
manual prices."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from llmledger.auth.tokens import create_api_token
from llmledger.ledger import Ledger
from llmledger.pricing.litellm import parse_catalog, per_million, split_key
from llmledger.pricing.tables import price_rows
from tests.conftest import Clock
from tests.pricing import litellm_fixture as fx

SYNC = "/api/v1/admin/pricing/sync"
#: for tests of parsing and HTTP, where the database makes no difference
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
PRICE_KEYS = (
    "inputPerMillion",
    "outputPerMillion",
    "cacheReadPerMillion",
    "cacheWrite5mPerMillion",
    "cacheWrite1hPerMillion",
    "reasoningPerMillion",
    "inputAudioPerMillion",
    "outputAudioPerMillion",
    "perRequest",
)


def test_prices_lose_their_float_noise() -> None:
    assert per_million(2.9999900000000002e-06) == Decimal("2.99999")
    assert per_million(1.1000000000000001e-06) == Decimal("1.1")
    assert per_million(5.46875e-07) == Decimal("0.546875")
    assert per_million(0) == Decimal(0)
    with pytest.raises(ValueError):
        per_million(-1e-06)


@pytest.mark.parametrize(
    ("key", "provider", "expected"),
    [
        ("gpt-4o", "openai", ("openai", "gpt-4o")),
        ("gemini/gemini-2.5-pro", "gemini", ("google", "gemini-2.5-pro")),
        (
            "vertex_ai/claude-3-5-sonnet",
            "vertex_ai-anthropic_models",
            ("google", "claude-3-5-sonnet"),
        ),
        ("bedrock/eu-west-1/anthropic.claude-v2", "bedrock", ("aws", "anthropic.claude-v2")),
        ("openrouter/openai/gpt-4o", "openrouter", ("openrouter", "openai/gpt-4o")),
        ("xai/grok-3", "xai", ("x-ai", "grok-3")),
        ("azure/eu/gpt-4o", "azure", ("azure", "gpt-4o")),
        ("together_ai/meta-llama/Llama-3-8b", "together_ai", ("together", "meta-llama/Llama-3-8b")),
    ],
)
def test_keys_are_normalised_to_provider_and_model(
    key: str, provider: str, expected: tuple[str, str]
) -> None:
    assert split_key(key, provider)[:2] == expected


def _prices(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in PRICE_KEYS if row.get(k) is not None}
    if row.get("tiers"):
        out["tiers"] = [{k: v for k, v in t.items() if v is not None} for t in row["tiers"]]
    return out


def test_the_fixture_parses_into_the_expected_rows() -> None:
    from llmledger.pricing.convert import row_json

    parsed = parse_catalog(fx.CATALOG)
    got = {(r.provider, r.model): _prices(row_json(r)) for r in parsed.rows}
    assert got == fx.EXPECTED
    reasons = {s["key"]: s["reason"] for s in parsed.skipped}
    assert {k: reasons[k] for k in fx.SKIPPED} == fx.SKIPPED
    assert reasons["broken-price"].startswith("bad price")
    assert len(reasons) == len(fx.SKIPPED) + 1
    assert all(r.source == "litellm" for r in parsed.rows)


def test_modes_can_be_widened() -> None:
    parsed = parse_catalog(fx.CATALOG, modes=("chat", "embedding", "audio_speech"))
    assert "tts-1" in {s["key"] for s in parsed.skipped}  # no per-token price, but not its mode
    assert {s["reason"] for s in parsed.skipped if s["key"] == "tts-1"} == {"no per-token price"}


# -- through the API ------------------------------------------------------------------------------


def _upload(
    client: TestClient, admin: dict[str, str], data: dict[str, Any], *, path: str = SYNC, **q: Any
) -> Any:
    params = {"source": "litellm", **q}
    return client.post(path, params=params, headers=admin, content=json.dumps(data))


def _litellm_rows(ledger: Ledger) -> list[Any]:
    c = price_rows.c
    with ledger.engine.connect() as conn:
        return conn.execute(select(price_rows).where(c.source == "litellm").order_by(c.id)).all()


def test_a_sync_writes_the_expected_rows_and_a_second_changes_nothing(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    preview = _upload(client, admin, fx.CATALOG, path=f"{SYNC}/preview")
    assert preview.status_code == 200, preview.text
    assert preview.json()["dryRun"] is True
    assert preview.json()["counts"]["added"] == len(fx.EXPECTED)
    assert _litellm_rows(ledger) == []

    first = _upload(client, admin, fx.CATALOG)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["counts"] == {
        "added": len(fx.EXPECTED),
        "changed": 0,
        "unchanged": 0,
        "skipped": len(fx.SKIPPED) + 1,
        "missing": 0,
    }
    assert {(a["provider"], a["model"]) for a in body["added"]} == set(fx.EXPECTED)
    stored = _litellm_rows(ledger)
    assert len(stored) == len(fx.EXPECTED)
    assert {r.effective_to_us for r in stored} == {None}

    listed = client.get("/api/v1/admin/pricing/models", params={"source": "litellm"}, headers=admin)
    got = {(m["provider"], m["model"]): _prices(m) for m in listed.json()["models"]}
    assert got == fx.EXPECTED

    clock.now += dt.timedelta(hours=1)
    second = _upload(client, admin, fx.CATALOG)
    assert second.json()["counts"]["unchanged"] == len(fx.EXPECTED)
    assert second.json()["counts"]["added"] == second.json()["counts"]["changed"] == 0
    assert _litellm_rows(ledger) == stored


def test_a_changed_price_closes_the_old_row_at_the_sync(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    assert _upload(client, admin, fx.CATALOG).status_code == 200
    clock.now += dt.timedelta(days=1)
    cheaper = {**fx.CATALOG["gpt-4o"], "input_cost_per_token": 2e-06}
    answer = _upload(client, admin, fx.catalog(**{"gpt-4o": cheaper})).json()
    assert answer["counts"]["changed"] == 1
    assert answer["changed"][0]["before"]["inputPerMillion"] == "2.5"
    assert answer["changed"][0]["after"]["inputPerMillion"] == "2"
    rows = [r for r in _litellm_rows(ledger) if r.model == "gpt-4o"]
    assert len(rows) == 2
    old, new = rows
    assert old.effective_to_us == new.effective_from_us
    book = ledger.pricer().book
    at_sync = dt.datetime.fromisoformat(answer["at"])
    assert book.price_in_force("openai", "gpt-4o", at_sync - dt.timedelta(seconds=1)).id == old.id
    assert book.price_in_force("openai", "gpt-4o", at_sync).id == new.id


@sqlite_only
def test_manual_prices_are_never_touched_by_a_sync(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    manual = client.post(
        "/api/v1/admin/pricing/models",
        headers=admin,
        json={"model": "gpt-4o", "inputPerMillion": "1", "outputPerMillion": "4"},
    ).json()
    answer = _upload(client, admin, fx.CATALOG).json()
    gpt = next(a for a in answer["added"] if a["model"] == "gpt-4o")
    assert gpt["overriddenByManual"] is True
    again = client.get(f"/api/v1/admin/pricing/models/{manual['id']}", headers=admin).json()
    assert again == {
        k: v for k, v in manual.items() if k not in ("closed", "inherited", "repriceSuggested")
    }
    now_row = ledger.pricer().book.price_in_force("openai", "gpt-4o", clock.now)
    assert now_row is not None and now_row.id == manual["id"]


@sqlite_only
def test_a_shrinking_catalog_is_refused_unless_forced(
    client: TestClient, admin: dict[str, str], ledger: Ledger
) -> None:
    assert _upload(client, admin, fx.CATALOG).status_code == 200
    keep = ("gpt-4o", "o4-mini", "xai/grok-3", "sample_spec")
    small = {k: v for k, v in fx.CATALOG.items() if k in keep}
    refused = _upload(client, admin, small)
    assert refused.status_code == 409
    assert f"fewer than the {len(fx.EXPECTED)} models of the last sync" in refused.json()["detail"]
    with ledger.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(price_rows)).scalar_one()
    forced = _upload(client, admin, small, force="true")
    assert forced.status_code == 200
    assert forced.json()["counts"]["missing"] == len(fx.EXPECTED) - 3
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(price_rows)).scalar_one() == n


@sqlite_only
def test_bad_uploads_are_refused_clearly(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(SYNC, params={"source": "litellm"}, headers=admin, content=b"{not json")
    assert r.status_code == 422 and "not JSON" in r.json()["detail"]
    r = client.post(SYNC, params={"source": "litellm"}, headers=admin, content=b"[1, 2]")
    assert r.status_code == 422 and "expected a JSON object" in r.json()["detail"]
    r = client.post(SYNC, headers=admin, json={"source": "litellm", "url": "file:///etc/passwd"})
    assert r.status_code == 422 and "only http and https" in r.json()["detail"]
    r = client.post(SYNC, headers=admin, json={"source": "nope"})
    assert r.status_code == 422


@sqlite_only
def test_an_upload_may_exceed_the_general_request_limit_but_not_its_own(
    client: TestClient, admin: dict[str, str], ledger: Ledger
) -> None:
    big = fx.catalog(**{f"acme-model-{i}": fx.CATALOG["gpt-4o"] for i in range(6000)})
    assert len(json.dumps(big)) > ledger.settings.max_request_bytes
    assert _upload(client, admin, big, path=f"{SYNC}/preview").status_code == 200
    limit = ledger.settings.max_price_file_bytes
    ledger.settings.max_price_file_bytes = 100_000
    try:
        assert _upload(client, admin, big, path=f"{SYNC}/preview").status_code == 413
    finally:
        ledger.settings.max_price_file_bytes = limit


@sqlite_only
def test_changes_need_an_admin(client: TestClient, ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", org_id="acme", name="v")[1]
    headers = {"Authorization": f"Bearer {viewer}"}
    assert _upload(client, headers, fx.CATALOG).status_code == 403
    assert client.get("/api/v1/admin/pricing/models", headers=headers).status_code == 200


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The fixture catalog on a local HTTP server (127.0.0.1 only)."""
    fx.write(tmp_path / "model_prices_and_context_window.json")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kw)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@sqlite_only
def test_a_sync_from_a_url(client: TestClient, admin: dict[str, str], served: str) -> None:
    url = f"{served}/model_prices_and_context_window.json"
    r = client.post(SYNC, headers=admin, json={"source": "litellm", "url": url})
    assert r.status_code == 200, r.text
    assert r.json()["location"] == url
    assert r.json()["counts"]["added"] == len(fx.EXPECTED)
    missing = client.post(SYNC, headers=admin, json={"url": f"{served}/nothing.json"})
    assert missing.status_code == 502 and "404" in missing.json()["detail"]


@sqlite_only
def test_a_sync_from_an_installed_litellm_without_importing_it(
    client: TestClient, admin: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "litellm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('litellm must not be imported')\n")
    fx.write(package / "model_prices_and_context_window_backup.json")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    r = client.post(SYNC, headers=admin, json={"source": "litellm", "installed": True})
    assert r.status_code == 200, r.text
    assert r.json()["location"].endswith("model_prices_and_context_window_backup.json")
    assert r.json()["counts"]["added"] == len(fx.EXPECTED)
    assert "litellm" not in sys.modules


@sqlite_only
def test_a_genai_prices_refresh_of_the_bundled_data_changes_nothing(
    client: TestClient, admin: dict[str, str], ledger: Ledger
) -> None:
    with ledger.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(price_rows)).scalar_one()
    r = client.post(SYNC, headers=admin, json={"source": "genai-prices"})
    assert r.status_code == 200, r.text
    counts = r.json()["counts"]
    assert counts["added"] == counts["changed"] == 0
    assert counts["unchanged"] > 1000
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(price_rows)).scalar_one() == before
