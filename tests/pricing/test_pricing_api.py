"""The catalog API: reading prices, manual entries and corrections (never editing history),
deleting overrides, the fallback price, unpriced traffic, and the audit trail of every change."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.auth.tables import audit_log
from llmledger.auth.tokens import create_api_token
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store import tables as t
from tests.conftest import Clock

API = "/api/v1/admin/pricing"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def _events(ledger: Ledger, model: str, provider: str, at: list[dt.datetime], org: str) -> None:
    ledger.write(
        [
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=t,
                provider=provider,
                model=model,
                org_id=org,
                input_tokens=1000,
                output_tokens=100,
            )
            for t in at
        ]
    )


def _audits(ledger: Ledger, action: str) -> list[Any]:
    with ledger.engine.connect() as conn:
        q = select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)
        return conn.execute(q).all()


def _viewer(ledger: Ledger, org: str = "acme") -> dict[str, str]:
    with ledger.engine.begin() as conn:
        token = create_api_token(conn, role="viewer", org_id=org, name=f"viewer {org}")[1]
    return {"Authorization": f"Bearer {token}"}


def test_models_in_force_filtered_and_paged(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get(
        f"{API}/models", params={"provider": "openai", "search": "gpt-4o"}, headers=admin
    )
    assert r.status_code == 200
    body = r.json()
    names = [m["model"] for m in body["models"]]
    assert "gpt-4o" in names and all("gpt-4o" in n for n in names)
    gpt = next(m for m in body["models"] if m["model"] == "gpt-4o")
    assert (gpt["inputPerMillion"], gpt["outputPerMillion"], gpt["source"]) == (
        "2.5",
        "10",
        "bundled",
    )
    page = client.get(f"{API}/models", params={"limit": 5, "offset": 5}, headers=admin).json()
    assert len(page["models"]) == 5 and page["nextOffset"] == 10 and page["total"] > 1000


def test_a_manual_price_with_inferred_provider_and_its_history(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    r = client.post(
        f"{API}/models",
        headers=admin,
        json={
            "model": "gpt-4o",
            "inputPerMillion": 2,  # numbers are accepted, read through str
            "outputPerMillion": "8.5",
            "tiers": [{"aboveInputTokens": 100000, "inputPerMillion": "4"}],
            "notes": "negotiated",
        },
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["provider"], first["source"], first["inputPerMillion"]) == (
        "openai",
        "manual",
        "2",
    )
    tier = {k: v for k, v in first["tiers"][0].items() if v is not None}
    assert tier == {"aboveInputTokens": 100000, "inputPerMillion": "4"}
    assert first["changedBy"] == "test admin" and first["effectiveFrom"] is not None

    clock.now += dt.timedelta(days=1)
    read = client.get(f"{API}/models/{first['id']}", headers=admin).json()
    second = client.put(
        f"{API}/models/{first['id']}", headers=admin, json={**read, "inputPerMillion": "1.5"}
    )
    assert second.status_code == 200, second.text
    assert second.json()["closed"] == [first["id"]]

    history = client.get(f"{API}/models/{first['id']}/history", headers=admin).json()
    rows = {row["id"]: row for row in history["rows"]}
    assert history["inForceNow"] == second.json()["id"]
    assert rows[first["id"]]["effectiveTo"] == second.json()["effectiveFrom"]
    assert {row["source"] for row in history["rows"]} >= {"bundled", "manual"}
    bundled = [row for row in history["rows"] if row["source"] == "bundled"]
    assert all(row["effectiveTo"] is None for row in bundled)  # catalog rows stay as they were
    actions = [a.action for a in _audits(ledger, "price.create") + _audits(ledger, "price.update")]
    assert actions == ["price.create", "price.update"]
    update = _audits(ledger, "price.update")[0]
    assert update.before[0]["inputPerMillion"] == "2" and update.after["inputPerMillion"] == "1.5"


@sqlite_only
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "gpt-4o", "inputPerMilion": "1"}, "inputPerMilion"),
        ({"model": "gpt-4o", "inputPerMillion": "-1"}, "between 0"),
        ({"model": "gpt-4o", "inputPerMillion": "0.0000001"}, "at most 6 decimal places"),
        ({"model": "gpt-4o", "inputPerMillion": "lots"}, "inputPerMillion"),
        ({"model": "gpt-4o"}, "at least one price"),
        ({"model": "my-finetune", "inputPerMillion": "1"}, "provider"),
        (
            {
                "model": "x",
                "provider": "acme",
                "inputPerMillion": "1",
                "tiers": [{"aboveInputTokens": 5}],
            },
            "tiers.0",
        ),
    ],
)
def test_bad_prices_are_refused_with_the_field_named(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], message: str
) -> None:
    r = client.post(f"{API}/models", headers=admin, json=body)
    assert r.status_code == 422
    assert message in r.text


def test_deleting_an_override_brings_the_catalog_price_back(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    bundled = client.get(f"{API}/models", params={"search": "claude-3-5-haiku"}, headers=admin)
    target = bundled.json()["models"][0]
    manual = client.put(
        f"{API}/models/{target['id']}", headers=admin, json={"inputPerMillion": "0.1"}
    ).json()
    assert (manual["provider"], manual["model"]) == (target["provider"], target["model"])
    assert client.delete(f"{API}/models/{target['id']}", headers=admin).status_code == 409

    clock.now += dt.timedelta(hours=2)
    r = client.delete(f"{API}/models/{manual['id']}", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["inForceNow"]["id"] == target["id"]
    assert r.json()["deleted"]["effectiveTo"] is not None
    again = client.delete(f"{API}/models/{manual['id']}", headers=admin)
    assert again.status_code == 409
    assert len(_audits(ledger, "price.delete")) == 1


@sqlite_only
def test_a_withdrawn_override_was_never_in_force(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    start = clock.now - dt.timedelta(days=3)
    manual = client.post(
        f"{API}/models",
        headers=admin,
        json={"model": "gpt-4o-mini", "inputPerMillion": "9", "effectiveFrom": start.isoformat()},
    ).json()
    r = client.delete(
        f"{API}/models/{manual['id']}", params={"effectiveTo": start.isoformat()}, headers=admin
    )
    assert r.status_code == 200, r.text
    row = ledger.pricer().book.price_in_force("openai", "gpt-4o-mini", start)
    assert row is not None and row.source == "bundled"


def test_pricing_an_unpriced_model_suggests_a_reprice(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    days = [clock.now - dt.timedelta(days=d, hours=1) for d in (9, 5, 2)]
    _events(ledger, "acme-ft-1", "acme", days, "acme")
    _events(ledger, "acme-ft-1", "acme", days[:1], "globex")
    unpriced = client.get(f"{API}/unpriced", headers=admin).json()
    assert unpriced["models"] == [
        {
            "provider": "acme",
            "model": "acme-ft-1",
            "requests": 4,
            "spendUsd": "0.052000000",  # 1000 in at $10/1M + 100 out at $30/1M, four times
            "firstSeen": days[0].date().isoformat(),
            "lastSeen": days[2].date().isoformat(),
            "pricedNow": False,
        }
    ]
    scoped = client.get(f"{API}/unpriced", headers=_viewer(ledger, "globex")).json()
    assert scoped["models"][0]["requests"] == 1

    r = client.post(
        f"{API}/models",
        headers=admin,
        json={
            "provider": "acme",
            "model": "acme-ft-1",
            "inputPerMillion": "1",
            "outputPerMillion": "2",
            "effectiveFrom": (clock.now - dt.timedelta(days=6)).isoformat(),
        },
    )
    suggestion = r.json()["repriceSuggested"]
    assert suggestion["events"] == 2 and suggestion["fallbackEventsBefore"] == 2
    assert suggestion["since"].startswith(days[1].date().isoformat())
    assert "effectiveFrom" in suggestion["hint"]
    after = client.get(f"{API}/unpriced", headers=admin).json()["models"][0]
    assert after["pricedNow"] is True


@sqlite_only
def test_the_fallback_price_changes_from_a_moment_on(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    before = client.get(f"{API}/fallback", headers=admin).json()
    assert (before["inputPerMillion"], before["outputPerMillion"]) == ("10", "30")
    r = client.put(
        f"{API}/fallback", headers=admin, json={"inputPerMillion": 5, "outputPerMillion": "15"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["inputPerMillion"], r.json()["outputPerMillion"]) == ("5", "15")
    assert len(r.json()["history"]) == 2
    _events(ledger, "acme-ft-2", "acme", [clock.now + dt.timedelta(minutes=1)], "acme")
    _events(ledger, "acme-ft-2", "acme", [clock.now - dt.timedelta(days=1)], "acme")
    spend = client.get(f"{API}/unpriced", headers=admin).json()["models"][0]["spendUsd"]
    assert spend == "0.019500000"  # 0.0065 at the new price + 0.013 at the old
    audit = _audits(ledger, "price.fallback")[0]
    assert audit.before["inputPerMillion"] == "10" and audit.after["inputPerMillion"] == "5"


@sqlite_only
def test_readers_read_and_only_admins_change(client: TestClient, ledger: Ledger) -> None:
    viewer = _viewer(ledger)
    assert client.get(f"{API}/models", headers=viewer).status_code == 200
    assert client.get(f"{API}/fallback", headers=viewer).status_code == 200
    changes = [
        ("POST", f"{API}/models", {"model": "gpt-4o", "inputPerMillion": "1"}),
        ("PUT", f"{API}/models/1", {"inputPerMillion": "1"}),
        ("DELETE", f"{API}/models/1", None),
        ("PUT", f"{API}/fallback", {"inputPerMillion": "1", "outputPerMillion": "1"}),
        ("POST", f"{API}/sync", {"source": "litellm"}),
        ("POST", f"{API}/sync/preview", {"source": "litellm"}),
        ("POST", f"{API}/reprice", {"startDate": "2026-01-01", "endDate": "2026-01-02"}),
        ("GET", f"{API}/reprice/nope", None),
    ]
    for method, path, body in changes:
        r = client.request(method, path, headers=viewer, json=body)
        assert r.status_code == 403, (method, path, r.status_code)
    assert client.get(f"{API}/models").status_code == 401


@sqlite_only
def test_hostile_parameters_are_refused_before_any_query(
    client: TestClient, admin: dict[str, str]
) -> None:
    for params in ({"search": "a\x00b"}, {"provider": "x" * 300}, {"offset": -1}):
        assert client.get(f"{API}/models", params=params, headers=admin).status_code == 422
    assert client.get(f"{API}/models/{2**31}", headers=admin).status_code == 422
    assert client.get(f"{API}/models/{2**31 - 1}", headers=admin).status_code == 404
    # LIKE wildcards are searched for literally
    assert client.get(f"{API}/models", params={"search": "%"}, headers=admin).json()["total"] == 0
    assert client.get(f"{API}/models", params={"search": "_"}, headers=admin).json()["total"] > 0
    bad_date = client.get(f"{API}/unpriced", params={"startDate": "' OR 1=1"}, headers=admin)
    assert bad_date.status_code == 422 and "startDate" in bad_date.text


@sqlite_only
def test_a_manual_price_with_an_off_peak_window(
    client: TestClient, admin: dict[str, str], ledger: Ledger
) -> None:
    body = {
        "provider": "acme",
        "model": "acme-night",
        "inputPerMillion": "2",
        "outputPerMillion": "0",
        "windows": [{"startUtc": "22:00", "endUtc": "06:00", "inputPerMillion": "1"}],
        "effectiveFrom": "2026-01-01",
    }
    r = client.post(f"{API}/models", headers=admin, json=body)
    assert r.status_code == 201, r.text
    window = {k: v for k, v in r.json()["windows"][0].items() if v is not None}
    assert window == {"startUtc": "22:00:00", "endUtc": "06:00:00", "inputPerMillion": "1"}
    day, night = (dt.datetime(2026, 2, 1, h, tzinfo=dt.UTC) for h in (12, 23))
    _events(ledger, "acme-night", "acme", [day, night], "acme")
    with ledger.engine.connect() as conn:
        costs = conn.execute(select(t.events.c.cost_nanos).order_by(t.events.c.ts_us)).scalars()
        # 1000 input tokens at $2, then $1, per 1M; no output price: output is free
        assert list(costs) == [2_000_000, 1_000_000]
    bad = client.post(
        f"{API}/models",
        headers=admin,
        json={
            **body,
            "windows": [{"startUtc": "25:00", "endUtc": "06:00", "inputPerMillion": "1"}],
        },
    )
    assert bad.status_code == 422 and "windows.0.startUtc" in bad.text
