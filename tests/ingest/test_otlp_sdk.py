"""The real OpenTelemetry SDK exporting to a real server on 127.0.0.1 (SQLite and PostgreSQL):
spans of each emitter's style become priced, attributed events, exact to the nano-dollar."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from llmledger.ledger import Ledger
from tests.ingest.otlp_spans import EMITTERS, export, exporter, traffic
from tests.support.live import LiveServer


@pytest.fixture
def server(ledger: Ledger, live_server: LiveServer) -> LiveServer:
    """The live server, started after ``ledger`` has emptied PostgreSQL."""
    return live_server


def requests_of(server: LiveServer) -> dict[str, dict[str, Any]]:
    """The request log, by span name."""
    r = httpx.get(
        f"{server.url}/api/v1/admin/llm-costs/requests",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return {row["metadata"]["spanName"]: row for row in r.json()["requests"]}


@pytest.mark.parametrize(
    ("encoding", "gzip"), [("protobuf", False), ("protobuf", True), ("json", True)]
)
def test_each_emitters_spans_become_exactly_priced_events(
    server: LiveServer, encoding: str, gzip: bool
) -> None:
    key = server.ingest_key("acme")
    spans = traffic()
    assert export(exporter(encoding, server.url, key, gzip=gzip), spans) == (
        SpanExportResult.SUCCESS
    )
    rows = requests_of(server)
    # the agent span sums its children and the HTTP span has no usage: neither is charged
    assert set(rows) == set(EMITTERS)
    for name, (_, nanos) in EMITTERS.items():
        assert rows[name]["costNanos"] == nanos, name
        assert rows[name]["orgId"] == "acme"
        assert rows[name]["metadata"]["service.name"] == "checkout"
    semconv = rows["semconv chat"]
    assert (semconv["provider"], semconv["model"]) == ("openai", "gpt-4o-2024-08-06")
    assert (semconv["sessionId"], semconv["agent"], semconv["userId"]) == (
        "conv-1",
        "IRIS",
        "alice",
    )
    assert (semconv["operation"], semconv["requestId"]) == ("chat", "chatcmpl-1")
    assert (semconv["inputTokens"], semconv["cacheReadTokens"]) == (1000, 200)
    assert semconv["costSource"] == "catalog" and semconv["success"] is True
    legacy = rows["openllmetry legacy"]
    assert (legacy["userId"], legacy["sessionId"], legacy["operation"]) == (
        "bob",
        "sess-9",
        "chat",
    )
    assert (legacy["outputTokens"], legacy["reasoningTokens"]) == (1000, 600)
    beside = rows["anthropic beside"]
    assert (beside["inputTokens"], beside["cacheReadTokens"], beside["cacheWrite5mTokens"]) == (
        6100,
        5000,
        1000,
    )
    assert beside["sessionId"] == "sess-a"
    openlit_anthropic = rows["openlit anthropic"]
    assert (openlit_anthropic["inputTokens"], openlit_anthropic["cacheReadTokens"]) == (10_500, 500)
    assert openlit_anthropic["costSource"] == "catalog"  # its cost of 0 is no price
    for inside in ("openllmetry anthropic", "pydantic ai"):
        assert (rows[inside]["inputTokens"], rows[inside]["cacheReadTokens"]) == (6100, 5000)
    assert rows["openllmetry anthropic"]["provider"] == "anthropic"
    openlit = rows["openlit cost"]
    assert (openlit["provider"], openlit["costSource"]) == ("x-ai", "provider")
    failed = rows["azure failed"]
    assert (failed["provider"], failed["success"], failed["errorType"]) == (
        "azure",
        False,
        "timeout",
    )
    assert failed["userId"] == "carol"


def test_a_resent_batch_is_counted_once(server: LiveServer) -> None:
    key = server.ingest_key("acme")
    spans = traffic()
    proto = exporter("protobuf", server.url, key)
    for _ in range(3):
        assert export(proto, spans) == SpanExportResult.SUCCESS
    # the same spans in the other encoding, with the key in x-api-key: still the same events
    assert export(exporter("json", server.url, key, header="x-api-key"), spans) == (
        SpanExportResult.SUCCESS
    )
    totals = server.totals()
    assert totals["events"] == len(EMITTERS)
    assert totals["cost_nanos"] == sum(nanos for _, nanos in EMITTERS.values())


def test_a_wrong_key_is_refused_and_stores_nothing(server: LiveServer) -> None:
    spans = traffic()
    for encoding in ("protobuf", "json"):
        wrong = exporter(encoding, server.url, "llmi_not-a-key")
        assert export(wrong, spans) == SpanExportResult.FAILURE
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=b"{}",
        headers={"Content-Type": "application/json", "x-api-key": "llmi_not-a-key"},
    )
    assert r.status_code == 401
    assert server.event_count() == 0
