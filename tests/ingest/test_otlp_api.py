"""POST /v1/traces in process, on SQLite and PostgreSQL: OTLP's answers (partial success,
400/401/415/503), the span rules, the attribute map."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from sqlalchemy import select

from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from llmledger.store import tables as t

JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def span(n: int, attributes: dict[str, Any], **over: Any) -> dict[str, Any]:
    start = time.time_ns() - 60_000_000_000
    out = {
        "traceId": f"{n:032x}",
        "spanId": f"{n:016x}",
        "name": f"span {n}",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1_500_000_000),
        "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()],
    }
    out.update(over)
    return out


def request(*spans: dict[str, Any], resource: dict[str, Any] | None = None) -> dict[str, Any]:
    res = resource or {"service.name": "api"}
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": k, "value": value(v)} for k, v in res.items()]},
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": list(spans)}],
            }
        ]
    }


CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.cache_read.input_tokens": 200,
    "gen_ai.usage.output_tokens": 500,
}
CHAT_NANOS = 7_250_000  # 800 * 2.5 + 200 * 1.25 + 500 * 10 $/M


def stored(ledger: Ledger) -> list[Any]:
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(t.events).order_by(t.events.c.event_id)))


@pytest.fixture
def key(ingest_key_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers: dict[str, str] = ingest_key_for("acme")
    return headers


def post_json(client: TestClient, key: dict[str, str], body: Any) -> Any:
    return client.post("/v1/traces", content=orjson.dumps(body), headers={**key, **JSON})


def test_good_malformed_and_plain_spans_in_one_request(client: TestClient, key, ledger) -> None:
    body = request(
        span(1, {**CHAT, "gen_ai.conversation.id": "c1"}),
        span(2, {**CHAT, "gen_ai.usage.output_tokens": "many"}),  # not a count
        span(3, {k: v for k, v in CHAT.items() if "model" not in k}),  # no model
        span(4, {**CHAT, "gen_ai.usage.cost": -1.0}),  # the contract refuses the cost
        span(5, CHAT, traceId="abc"),  # not a trace id
        span(6, {"http.request.method": "GET"}),  # no GenAI usage
        span(7, {**CHAT, "gen_ai.operation.name": "execute_tool"}),  # not a model call
    )
    r = post_json(client, key, body)
    assert r.status_code == 200, r.text
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == 4
    message = partial["errorMessage"]
    for expected in (
        "gen_ai.usage.output_tokens: must be a whole number of tokens, not 'many'",
        "no model",
        "costUsd",
        "traceId must be 32 hex digits",
        "1 span(s) without GenAI usage ignored",
        "1 span(s) with usage ignored as not a model call",
    ):
        assert expected in message, (expected, message)
    (row,) = stored(ledger)
    assert (row.session_id, row.cost_nanos, row.latency_ms, row.org_id) == (
        "c1",
        CHAT_NANOS,
        1500,
        "acme",
    )


def test_a_fully_accepted_request_gets_an_empty_answer(client: TestClient, key) -> None:
    r = post_json(client, key, request(span(1, CHAT)))
    assert (r.status_code, r.json()) == (200, {})
    assert r.headers["content-type"] == "application/json"


def test_protobuf_in_protobuf_out(client: TestClient, key, ledger) -> None:
    message = ExportTraceServiceRequest()
    rs = message.resource_spans.add()
    good = rs.scope_spans.add().spans.add()
    good.trace_id, good.span_id, good.name = b"\x01" * 16, b"\x02" * 8, "chat"
    good.start_time_unix_nano = time.time_ns() - 10**9
    good.end_time_unix_nano = time.time_ns()
    for k, v in CHAT.items():
        kv = good.attributes.add()
        kv.key = k
        if isinstance(v, int):
            kv.value.int_value = v
        else:
            kv.value.string_value = v
    bad = rs.scope_spans[0].spans.add()
    bad.CopyFrom(good)
    bad.span_id = b"\x03" * 4
    r = client.post(
        "/v1/traces",
        content=gzip.compress(message.SerializeToString()),
        headers={**key, **PROTOBUF, "Content-Encoding": "gzip"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(r.content)
    assert answer.partial_success.rejected_spans == 1
    assert "spanId must be 8 bytes" in answer.partial_success.error_message
    assert [row.cost_nanos for row in stored(ledger)] == [CHAT_NANOS]


def test_unparseable_bodies_get_400_and_store_nothing(client: TestClient, key, ledger) -> None:
    cases = [
        (b"\xff\xff\xff", PROTOBUF, {}),
        (b'{"resourceSpans": ', JSON, {}),
        (b"[1, 2]", JSON, {}),
        (b'{"resourceSpans": {"a": 1}}', JSON, {}),
        (b"not gzip", JSON, {"Content-Encoding": "gzip"}),
    ]
    for content, ctype, extra in cases:
        r = client.post("/v1/traces", content=content, headers={**key, **ctype, **extra})
        assert r.status_code == 400, (content, r.text)
        if ctype is JSON:
            assert r.json()["code"] == 3 and r.json()["message"]
    r = client.post("/v1/traces", content=b"{}", headers={**key, "Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/x-protobuf" in r.json()["message"]
    assert stored(ledger) == []


def test_the_key_may_come_as_x_api_key(client: TestClient, ingest_key_for) -> None:
    secret = ingest_key_for("acme")["Authorization"].removeprefix("Bearer ")
    body = orjson.dumps(request(span(1, CHAT)))
    ok = client.post("/v1/traces", content=body, headers={**JSON, "x-api-key": secret})
    assert ok.status_code == 200
    wrong = client.post("/v1/traces", content=body, headers={**JSON, "x-api-key": "llmi_nope"})
    assert wrong.status_code == 401
    assert client.post("/v1/traces", content=body, headers=JSON).status_code == 401


def test_a_closed_writer_answers_503_with_retry_after(client: TestClient, key, ledger) -> None:
    ledger.writer.close()
    r = post_json(client, key, request(span(1, CHAT)))
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert r.json()["code"] == 14


def test_a_parent_without_operation_that_sums_its_child_is_not_charged(
    client: TestClient, key, ledger
) -> None:
    untyped = {k: v for k, v in CHAT.items() if k != "gen_ai.operation.name"}
    parent = span(1, untyped)
    child = span(2, CHAT, traceId=parent["traceId"], parentSpanId=parent["spanId"])
    lone = span(3, untyped)  # nothing below it: it is the model call
    r = post_json(client, key, request(parent, child, lone))
    assert r.status_code == 200
    assert (
        "1 span(s) with usage ignored as not a model call"
        in r.json()["partialSuccess"]["errorMessage"]
    )
    span_ids = sorted(orjson.loads(row.metadata)["spanId"] for row in stored(ledger))
    assert span_ids == [f"{n:016x}" for n in (2, 3)]


@pytest.fixture
def mapped(settings: Settings, ledger: Ledger) -> Iterator[TestClient]:
    remapped = settings.model_copy(
        update={"otlp_attribute_map": "app.customer=userId,app.tier=tier"}
    )
    led = Ledger(remapped, engine=ledger.engine)
    led.reload_prices()
    with TestClient(create_app(ledger=led)) as c:
        yield c
    led.close()


def test_the_attribute_map_fills_fields_from_span_or_resource(
    mapped: TestClient, key, ledger
) -> None:
    body = request(
        span(1, {**CHAT, "user.id": "ignored", "app.customer": "cust-7"}),
        resource={"service.name": "api", "app.tier": "gold"},
    )
    assert post_json(mapped, key, body).status_code == 200
    (row,) = stored(ledger)
    assert (row.user_id, row.tier) == ("cust-7", "gold")
