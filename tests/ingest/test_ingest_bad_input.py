"""What ingest refuses, on every path that writes events: the HTTP fast path (msgspec), the HTTP
slow path (the contract, judged event by event) and the SDK's direct mode, on SQLite and
PostgreSQL. Each refusal is a per-event error naming the field; the rest of the batch is kept."""

from __future__ import annotations

import dataclasses
import time
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.capture.direct import DirectSender
from llmledger.capture.transport import encode
from llmledger.ingest.prepare import prepare_wire
from llmledger.pricing.bundled import bundled_rows
from llmledger.pricing.cost import Pricer
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import PriceRow
from llmledger.settings import Settings
from llmledger.store import tables as t
from llmledger.wire import decode_batch
from tests.ingest.test_ingest_api import ev, stored_count

COSTS = "/api/v1/admin/llm-costs"
#: makes a batch unusual from its first event, so the contract judges it from the start
SLOW = {"eventId": str(uuid.uuid4()).upper()}


def fast_takes(events: list[dict[str, Any]]) -> bool:
    """Whether the fast path alone would take the batch (it never words an error)."""
    rows = [dataclasses.replace(r, id=i + 1) for i, r in enumerate(bundled_rows())]
    fallback = PriceRow("*", "*", {"input": Decimal(1), "output": Decimal(1)}, source="fallback")
    wire = decode_batch(orjson.dumps({"events": events}), max_events=10_000)
    if wire is None:
        return False
    now_us = time.time_ns() // 1000
    prepared = prepare_wire(
        wire, Pricer(PriceBook([*rows, fallback])), key_org=None, now_us=now_us, open_from=0
    )
    return prepared is not None


def post_raw(client: TestClient, headers: dict[str, str], body: bytes) -> Any:
    return client.post(
        "/api/v1/events", content=body, headers={**headers, "Content-Type": "application/json"}
    )


def judged(client: TestClient, admin: dict[str, str], bad: dict[str, Any]) -> dict[str, str]:
    """Post ``bad`` between two good events, once as the fast path sees it and once in a batch
    the contract judges from the start; both answers must refuse it alike. Returns the error
    text of each path."""
    errors = {}
    for path, first in (("fast", ev()), ("slow", ev(**SLOW))):
        r = post_raw(client, admin, orjson.dumps({"events": [first, bad, ev()]}))
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert body["accepted"] == 2, (path, body)
        assert [x["index"] for x in body["rejected"]] == [1], (path, body)
        errors[path] = " ".join(body["rejected"][0]["errors"])
    assert errors["fast"] == errors["slow"]
    return errors


def direct_answer(settings: Settings, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The SDK's direct mode: the batch as the exporter hands it over, written into the
    test's database."""
    sender = DirectSender(settings.resolved_database_url)
    try:
        outcome = sender.send(encode(events))
    finally:
        sender.close()
    assert outcome.ok, outcome.reason
    assert outcome.answer is not None
    return outcome.answer


# -- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+14:00",  # before datetime.min once in UTC
        "1900-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T04:59:59+05:00",  # 1999 in UTC
    ],
)
def test_timestamps_before_the_floor_are_refused(client, admin, ledger, settings, stamp):
    bad = ev(timestamp=stamp, sessionId="poison", costUsd="5000")
    assert not fast_takes([ev(), bad])
    errors = judged(client, admin, bad)
    assert errors["fast"].startswith("timestamp: ")
    assert "before 2000-01-01T00:00:00Z" in errors["fast"]
    answer = direct_answer(settings, [bad])
    assert answer["accepted"] == 0
    assert "before 2000-01-01T00:00:00Z" in answer["rejected"][0]["errors"][0]
    assert stored_count(ledger) == 4
    # the poisoned session never reaches the readers
    r = client.get(f"{COSTS}/sessions", headers=admin)
    assert r.status_code == 200
    assert "poison" not in r.text


def test_the_floor_itself_is_accepted_in_any_offset(client, admin, ledger):
    stamps = ["2000-01-01T00:00:00Z", "2000-01-01T05:30:00+05:30", "1999-12-31T19:00:00-05:00"]
    events = [ev(timestamp=s) for s in stamps]
    assert fast_takes(events)
    r = post_raw(client, admin, orjson.dumps({"events": events})).json()
    assert r == {"accepted": 3, "duplicates": 0, "rejected": []}
    with ledger.engine.connect() as conn:
        stored = set(conn.execute(select(t.events.c.ts_us)).scalars())
    assert stored == {946_684_800_000_000}


@pytest.mark.parametrize(
    ("stamp", "words"),
    [
        (12345, "not a number"),
        (1733500000.5, "not a number"),
        ("12345", "not an RFC 3339 timestamp"),
        ("1733500000", "not an RFC 3339 timestamp"),  # Unix seconds, in range
        ("2026-12-01T10:00:00+0530", "not an RFC 3339 timestamp"),  # no colon
        ("2026-12-01T10:00Z", "not an RFC 3339 timestamp"),  # no seconds
        ("2026-12-01T10:00:00", "timezone"),  # no offset
    ],
)
def test_timestamps_other_than_rfc3339_with_an_offset_are_refused(
    client, admin, ledger, settings, stamp, words
):
    bad = ev(timestamp=stamp)
    assert not fast_takes([ev(), bad])
    errors = judged(client, admin, bad)
    assert errors["fast"].startswith("timestamp: ") and words in errors["fast"]
    answer = direct_answer(settings, [bad])
    assert answer["accepted"] == 0 and words in answer["rejected"][0]["errors"][0]
    assert stored_count(ledger) == 4


def test_the_forms_rfc3339_allows_are_accepted(client, admin, ledger):
    base = ev()["timestamp"][:19]  # five minutes ago, to the second
    forms = [base + "Z", base + "+00:00", base + "-00:00", base.replace("T", " ") + "Z"]
    forms += [base.replace("T", "t") + "z", base + ".123456789Z"]
    r = post_raw(client, admin, orjson.dumps({"events": [ev(timestamp=f) for f in forms]}))
    assert r.json() == {"accepted": len(forms), "duplicates": 0, "rejected": []}


# -- metadata -------------------------------------------------------------------------------


def nested(levels: int) -> dict[str, Any]:
    """A metadata object nested ``levels`` deep, counting itself."""
    inner: Any = 1
    for _ in range(levels - 1):
        inner = [inner]
    return {"a": inner}


def with_metadata_text(event: dict[str, Any], text: bytes) -> bytes:
    """The event as JSON with ``text`` as its metadata (for JSON no encoder writes)."""
    return orjson.dumps({**event, "metadata": "@"}).replace(b'"@"', text)


def batch_text(*events: bytes) -> bytes:
    return b'{"events":[' + b",".join(events) + b"]}"


def test_metadata_may_nest_32_levels(client, admin, ledger, settings):
    assert fast_takes([ev(metadata=nested(32))])
    r = post_raw(client, admin, orjson.dumps({"events": [ev(metadata=nested(32))]}))
    assert r.json()["accepted"] == 1
    assert direct_answer(settings, [ev(metadata=nested(32))])["accepted"] == 1


@pytest.mark.parametrize("levels", [33, 200, 990])
def test_metadata_nested_deeper_is_refused_by_event(client, admin, ledger, settings, levels):
    if levels < 250:  # what orjson (the SDK) can write at all
        bad = ev(metadata=nested(levels))
        assert not fast_takes([ev(), bad])
        answer = direct_answer(settings, [bad])
        assert answer["accepted"] == 0 and "32 levels" in answer["rejected"][0]["errors"][0]
    deep = b'{"a":' + b"[" * (levels - 1) + b"1" + b"]" * (levels - 1) + b"}"
    for first in (ev(), ev(**SLOW)):
        body = batch_text(orjson.dumps(first), with_metadata_text(ev(), deep), orjson.dumps(ev()))
        r = post_raw(client, admin, body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["accepted"] == 2
        assert [x["index"] for x in answer["rejected"]] == [1]
        assert answer["rejected"][0]["errors"] == [
            "metadata: must nest objects and arrays at most 32 levels deep (counting metadata "
            "itself)"
        ]
    assert stored_count(ledger) == 4


def _deep(levels: int, then: bytes = b"") -> bytes:
    return b'{"a":' + b"[" * levels + b"]" * levels + then + b"}"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"events":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"events":[' + b"[" * 5000 + b"]" * 5000 + b"]}",
        batch_text(with_metadata_text(ev(), _deep(5000))),
        batch_text(with_metadata_text(ev(), _deep(1010, b',"n":18446744073709551616'))),
        batch_text(with_metadata_text(ev(), _deep(1010)), with_metadata_text(ev(), b'{"n":1}')),
        batch_text(orjson.dumps(ev(**SLOW))[:-1] + b',"extra":' + _deep(5000) + b"}"),
    ],
    ids=["top", "events", "an event", "metadata", "deep and a long number", "1010", "extra"],
)
def test_a_body_nested_beyond_the_parser_is_400_never_500(client, admin, ledger, body):
    r = post_raw(client, admin, body)
    assert r.status_code in (200, 400, 422), r.text
    if r.status_code == 200:  # read: the deep event refused by name, any other kept
        answer = r.json()
        assert len(answer["rejected"]) == 1
        assert stored_count(ledger) == answer["accepted"]
    else:
        assert r.json()["detail"]
        assert stored_count(ledger) == 0


@pytest.mark.parametrize("number", [2**63, 2**64, 2**70, -(2**63) - 1, 10**40])
def test_metadata_integers_beyond_64_bits_are_refused(client, admin, ledger, settings, number):
    text = with_metadata_text(ev(), b'{"n":' + str(number).encode() + b"}")
    for first in (ev(), ev(**SLOW)):
        r = post_raw(client, admin, batch_text(orjson.dumps(first), text, orjson.dumps(ev())))
        answer = r.json()
        assert answer["accepted"] == 2, answer
        assert [x["index"] for x in answer["rejected"]] == [1]
        error = answer["rejected"][0]["errors"][0]
        assert error.startswith(f"metadata: integer {number} is outside the signed 64-bit range")
    if -(2**63) <= number < 2**64:  # what the SDK can encode at all
        answer = direct_answer(settings, [ev(metadata={"n": number})])
        assert answer["accepted"] == 0 and "64-bit" in answer["rejected"][0]["errors"][0]
    assert stored_count(ledger) == 4


def test_metadata_integers_at_the_64_bit_edges_are_kept_exactly(client, admin, ledger):
    meta = {"hi": 2**63 - 1, "lo": -(2**63), "deep": [[{"x": 2**63 - 1}]]}
    assert fast_takes([ev(metadata=meta)])
    for first in ({}, SLOW):
        r = post_raw(client, admin, orjson.dumps({"events": [ev(metadata=meta, **first)]}))
        assert r.json()["accepted"] == 1
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(t.events.c.metadata)).scalars().all()
    assert [orjson.loads(m) for m in stored] == [meta, meta]


# -- lengths --------------------------------------------------------------------------------


def test_lengths_are_checked_on_what_is_stored(client, admin, ledger, settings):
    bad = ev(provider="İ" * 200)  # 200 characters sent, 400 once lower-cased
    assert len(bad["provider"].lower()) == 400
    assert not fast_takes([ev(), bad])
    errors = judged(client, admin, bad)
    assert errors["fast"] == (
        "provider: must be at most 256 characters once lower-cased (it has 400)"
    )
    assert direct_answer(settings, [bad])["accepted"] == 0
    fits = ev(provider="İ" * 128)  # exactly 256 once lower-cased
    assert fast_takes([fits])
    assert post_raw(client, admin, orjson.dumps({"events": [fits]})).json()["accepted"] == 1
    with ledger.engine.connect() as conn:
        providers = set(conn.execute(select(t.events.c.provider)).scalars())
    assert providers == {"openai", "i̇" * 128}


# -- attributions ---------------------------------------------------------------------------

PADDED = {
    "orgId": " spacey ",
    "userId": "\tuser-1 ",
    "agent": " planner\n",
    "sessionId": "\u00a0s-1",
    "agentSessionId": " as-1 ",
    "agentExecutionId": " ae-1 ",
    "agentPlanId": " ap-1 ",
    "operation": " chat ",
    "tier": " cheap ",
    "provider": " OpenAI ",
    "model": " gpt-4o ",
}
TRIMMED = ("spacey", "user-1", "planner", "s-1", "as-1", "ae-1", "ap-1", "chat", "cheap")
TRIMMED += ("openai", "gpt-4o")
_STORED = (
    t.events.c.org_id,
    t.events.c.user_id,
    t.events.c.agent,
    t.events.c.session_id,
    t.events.c.agent_session_id,
    t.events.c.agent_execution_id,
    t.events.c.agent_plan_id,
    t.events.c.operation,
    t.events.c.tier,
    t.events.c.provider,
    t.events.c.model,
)


def test_attributions_are_stored_trimmed_and_listing_drill_down_and_filters_agree(
    client, admin, ledger, settings
):
    assert fast_takes([ev(**PADDED)])
    for first in ({}, SLOW):
        r = post_raw(client, admin, orjson.dumps({"events": [ev(**PADDED, **first)]}))
        assert r.json()["accepted"] == 1
    assert direct_answer(settings, [ev(**PADDED)])["accepted"] == 1
    with ledger.engine.connect() as conn:
        stored = set(map(tuple, conn.execute(select(*_STORED)).all()))
    assert stored == {TRIMMED}
    listed = client.get(f"{COSTS}/by-org", headers=admin).json()["orgs"]
    assert [o["orgId"] for o in listed] == ["spacey"]
    for org in ("spacey", " spacey", "%20spacey%20"):
        detail = client.get(f"{COSTS}/by-org/{org}", headers=admin)
        assert detail.status_code == 200, (org, detail.text)
        assert detail.json()["totals"]["totalRequests"] == 3
    totals = client.get(f"{COSTS}/global", params={"orgId": " spacey "}, headers=admin).json()
    assert totals["totalRequests"] == 3
    session = client.get(f"{COSTS}/sessions/s-1", params={"orgId": "spacey"}, headers=admin)
    assert session.status_code == 200, session.text


def test_a_padded_organisation_is_the_ingest_keys_own(client, ingest_key_for, ledger):
    key = ingest_key_for("acme")
    for first in ({}, SLOW):
        r = post_raw(client, key, orjson.dumps({"events": [ev(orgId=" acme ", **first)]}))
        assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    with ledger.engine.connect() as conn:
        assert set(conn.execute(select(t.events.c.org_id)).scalars()) == {"acme"}


@pytest.mark.parametrize("field", ["provider", "model"])
def test_a_provider_or_model_of_only_whitespace_is_refused(client, admin, ledger, field):
    errors = judged(client, admin, ev(**{field: " \t "}))
    assert errors["fast"] == f"{field}: must not be empty or only whitespace"
