"""POST /api/v1/events end to end, in process, on SQLite and PostgreSQL; the core cases with
the writer both in a thread and in its own process."""

from __future__ import annotations

import datetime as dt
import gzip
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from llmledger.ledger import Ledger
from llmledger.store import tables as t

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def ev(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventId": str(uuid.uuid4()),
        "timestamp": (NOW - dt.timedelta(minutes=5)).isoformat(),
        "provider": "openai",
        "model": "gpt-4o",
        "inputTokens": 1000,
        "cacheReadTokens": 200,
        "outputTokens": 500,
        "latencyMs": 800,
    }
    base.update(over)
    return base


def post(client: TestClient, headers: dict[str, str], events: list[Any]) -> Any:
    return client.post("/api/v1/events", json={"events": events}, headers=headers)


def stored_count(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_accepts_a_batch_and_reads_back_exact_totals(client, admin, ledger):
    # gpt-4o: $2.50/M input, $1.25/M cached input, $10/M output
    # 800 uncached * 2.5 + 200 cached * 1.25 + 500 * 10 = 7250 $/M = $0.00725 per event
    batch = [ev(orgId="acme") for _ in range(40)]
    r = post(client, admin, batch)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 40, "duplicates": 0, "rejected": []}
    g = client.get("/api/v1/admin/llm-costs/global", headers=admin).json()
    assert g["costNanos"] == 40 * 7_250_000
    assert g["costUsd"] == pytest.approx(0.29)
    assert g["totalRequests"] == 40
    assert g["inputTokens"] == 40_000
    assert g["outputTokens"] == 20_000
    assert g["cacheReadTokens"] == 8_000
    assert g["avgLatencyMs"] == 800
    assert g["successRate"] == 1
    assert g["todayCostUsd"] + 1e-12 >= 0  # present
    with ledger.engine.connect() as conn:
        src = conn.execute(select(t.events.c.cost_source).distinct()).scalars().all()
    assert src == ["catalog"]


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_resending_a_batch_changes_nothing(client, admin, ledger):
    batch = [ev() for _ in range(25)]
    assert post(client, admin, batch).json()["accepted"] == 25
    before = client.get("/api/v1/admin/llm-costs/global", headers=admin).json()
    again = post(client, admin, batch).json()
    assert again == {"accepted": 0, "duplicates": 25, "rejected": []}
    after = client.get("/api/v1/admin/llm-costs/global", headers=admin).json()
    assert after == before
    assert stored_count(ledger) == 25


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_duplicates_inside_one_batch_count_once(client, admin, ledger):
    one = ev()
    r = post(client, admin, [one, one, ev()]).json()
    assert r == {"accepted": 2, "duplicates": 1, "rejected": []}
    assert stored_count(ledger) == 2


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_good_events_are_kept_when_others_are_rejected(client, admin, ledger):
    batch = [
        ev(),
        ev(inputTokens=-3),
        ev(bogus=1),
        ev(timestamp="2026-01-01T10:00:00"),
        ev(cacheReadTokens=5000),
        "not an object",
        ev(),
    ]
    r = post(client, admin, batch)
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2
    by_index = {x["index"]: " ".join(x["errors"]) for x in body["rejected"]}
    assert sorted(by_index) == [1, 2, 3, 4, 5]
    assert "inputTokens" in by_index[1]
    assert "bogus: unknown field" in by_index[2]
    assert "timestamp" in by_index[3] and "timezone" in by_index[3]
    assert "exceed inputTokens" in by_index[4]
    assert "JSON object" in by_index[5]
    assert stored_count(ledger) == 2


def test_future_timestamps_are_rejected(client, admin):
    r = post(client, admin, [ev(timestamp=(NOW + dt.timedelta(hours=1)).isoformat())]).json()
    assert r["accepted"] == 0
    assert "future" in r["rejected"][0]["errors"][0]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty body"),
        (b"[1,2]", 422, "JSON object"),
        (b'{"events": {}}', 422, "array"),
        (b'{"events": [], "extra": 1}', 422, "extra"),
    ],
)
def test_malformed_bodies_name_the_problem(client, admin, ledger, body, status, words):
    r = client.post(
        "/api/v1/events", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code == status
    assert words in r.json()["detail"]
    assert stored_count(ledger) == 0


def test_too_many_events_is_413_with_the_limit(client, admin, ledger):
    limit = ledger.settings.max_batch_events
    r = post(client, admin, [ev() for _ in range(limit + 1)])
    assert r.status_code == 413
    assert str(limit) in r.json()["detail"]
    assert stored_count(ledger) == 0


def test_too_large_a_body_is_413(client, admin, ledger):
    ledger.settings.max_body_bytes = 4096
    r = post(client, admin, [ev(metadata={"pad": "x" * 3000}) for _ in range(3)])
    assert r.status_code == 413
    assert "4096" in r.json()["detail"]


def test_gzip_bodies_are_accepted_and_bombs_refused(client, admin, ledger):
    raw = orjson.dumps({"events": [ev() for _ in range(10)]})
    headers = {**admin, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    r = client.post("/api/v1/events", content=gzip.compress(raw), headers=headers)
    assert r.json()["accepted"] == 10
    bomb = gzip.compress(b'{"events": [' + b" " * (ledger.settings.max_body_bytes + 10) + b"]}")
    r = client.post("/api/v1/events", content=bomb, headers=headers)
    assert r.status_code == 413
    r = client.post("/api/v1/events", content=b"not gzip", headers=headers)
    assert r.status_code == 400


def test_ingest_needs_credentials(client, ledger):
    assert post(client, {}, [ev()]).status_code == 401
    assert post(client, {"Authorization": "Bearer nope"}, [ev()]).status_code == 401
    assert post(client, {"Authorization": "Basic abc"}, [ev()]).status_code == 401
    assert stored_count(ledger) == 0


def test_ingest_keys_are_bound_to_their_organisation(client, ingest_key_for, ledger):
    key = ingest_key_for("acme")
    r = post(client, key, [ev(), ev(orgId="acme"), ev(orgId="globex")]).json()
    assert r["accepted"] == 2
    assert r["rejected"][0]["index"] == 2
    assert "acme" in r["rejected"][0]["errors"][0]
    with ledger.engine.connect() as conn:
        orgs = conn.execute(select(t.events.c.org_id).distinct()).scalars().all()
    assert orgs == ["acme"]
    # an ingest key cannot read
    assert client.get("/api/v1/admin/llm-costs/global", headers=key).status_code == 403


def test_provider_reported_cost_wins_and_unknown_models_use_the_fallback(client, admin, ledger):
    r = post(
        client,
        admin,
        [
            ev(provider="openrouter", model="openai/gpt-4o", costUsd="0.123456789"),
            ev(
                provider="selfhosted",
                model="no-such-model-xyz",
                inputTokens=1_000_000,
                cacheReadTokens=0,
                outputTokens=0,
            ),
        ],
    ).json()
    assert r["accepted"] == 2
    with ledger.engine.connect() as conn:
        rows = dict(conn.execute(select(t.events.c.model, t.events.c.cost_nanos)).all())
        sources = dict(conn.execute(select(t.events.c.model, t.events.c.cost_source)).all())
    assert rows["openai/gpt-4o"] == 123_456_789
    assert sources["openai/gpt-4o"] == "provider"
    assert sources["no-such-model-xyz"] == "fallback"
    assert rows["no-such-model-xyz"] == int(
        ledger.settings.fallback_input_per_million * Decimal(10**9)
    )


def test_health(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_a_database_failure_is_503_and_stores_nothing(client, admin, ledger):
    from sqlalchemy import text

    with ledger.engine.begin() as conn:  # hide a rollup table the write must touch
        conn.execute(text("ALTER TABLE user_day RENAME TO user_day_hidden"))
    try:
        r = post(client, admin, [ev(userId="u1")])
    finally:
        with ledger.engine.begin() as conn:
            conn.execute(text("ALTER TABLE user_day_hidden RENAME TO user_day"))
    assert r.status_code == 503
    assert "nothing" in r.json()["detail"]
    assert r.headers["Retry-After"]
    assert stored_count(ledger) == 0


def test_a_nul_in_a_string_rejects_that_event_only(client, admin, ledger):
    r = post(client, admin, [ev(agent="bad\x00agent"), ev()]).json()
    assert r["accepted"] == 1
    assert r["rejected"][0]["index"] == 0
    assert "agent" in r["rejected"][0]["errors"][0] and "NUL" in r["rejected"][0]["errors"][0]
    assert stored_count(ledger) == 1


def test_attributions_are_trimmed_and_outcome_details_kept_as_sent(client, admin, ledger):
    r = post(client, admin, [ev(agent=" padded ", operation="", errorType=" Timeout ")]).json()
    assert r["accepted"] == 1
    with ledger.engine.connect() as conn:
        row = conn.execute(select(t.events.c.agent, t.events.c.operation, t.events.c.error_type))
        assert tuple(row.one()) == ("padded", "", " Timeout ")


def test_metadata_beyond_json_is_rejected_by_name():
    from llmledger.events import EventRejected, parse_event

    with pytest.raises(EventRejected) as caught:
        parse_event(ev(metadata={"n": 2**70}), now=NOW)
    assert caught.value.errors[0].startswith("metadata: integer 1180591620717411303424 is outside")


def _gzip_cases() -> list[tuple[str, bytes]]:
    raw = orjson.dumps({"events": [ev()]})
    whole = gzip.compress(raw)
    return [
        ("trailing bytes", whole + b"junk"),
        ("a second member", whole + gzip.compress(orjson.dumps({"events": [ev()]}))),
        ("a truncated stream", whole[: len(whole) // 2]),
        ("a corrupt stream", whole[:10] + bytes(b ^ 0x55 for b in whole[10:])),
        ("no stream at all", b""),
    ]


@pytest.mark.parametrize(("case", "body"), _gzip_cases(), ids=[c for c, _ in _gzip_cases()])
def test_gzip_that_is_not_one_whole_member_is_refused(client, admin, ledger, case, body):
    headers = {**admin, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    r = client.post("/api/v1/events", content=body, headers=headers)
    assert r.status_code == 400, (case, r.text)
    assert r.json()["detail"].startswith("body is not valid gzip"), (case, r.text)
    assert stored_count(ledger) == 0
