"""GET /metrics: who may read it, and counters that equal the traffic made, parsed with
prometheus-client's own parser (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from llmledger.auth.tokens import create_api_token
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings

METRICS_TOKEN = "scrape-me-0123456789abcdef"


def samples(
    client: TestClient, headers: dict[str, str]
) -> dict[tuple[str, tuple[Any, ...]], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def event(**over: Any) -> dict[str, Any]:
    base = {
        "eventId": str(uuid.uuid4()),
        "timestamp": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(),
        "provider": "openai",
        "model": "gpt-4o",
        "inputTokens": 10,
        "outputTokens": 5,
        "orgId": "acme",
        "userId": "secret-user",
    }
    base.update(over)
    return base


def span(n: int, attributes: dict[str, Any]) -> dict[str, Any]:
    start = time.time_ns() - 10**10
    return {
        "traceId": f"{n:032x}",
        "spanId": f"{n:016x}",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 10**9),
        "attributes": [
            {"key": k, "value": {"intValue": v} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attributes.items()
        ],
    }


CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.usage.output_tokens": 5,
}


def counter(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_counters_equal_the_traffic(client: TestClient, admin, ingest_key_for) -> None:
    key = ingest_key_for("acme")
    before = samples(client, admin)
    first = event()
    r = client.post(
        "/api/v1/events", json={"events": [first, event(), event(inputTokens=-1)]}, headers=key
    )
    assert r.json()["accepted"] == 2
    assert client.post("/api/v1/events", json={"events": [first]}, headers=key).status_code == 200
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            span(1, CHAT),
                            span(2, CHAT),
                            span(3, {"http.request.method": "GET"}),
                            span(4, {**CHAT, "gen_ai.operation.name": "invoke_agent"}),
                        ]
                    }
                ]
            }
        ]
    }
    for _ in range(2):  # the second time, both model calls are duplicates
        r = client.post(
            "/v1/traces",
            content=orjson.dumps(body),
            headers={**key, "Content-Type": "application/json"},
        )
        assert r.status_code == 200
    after = samples(client, admin)
    c = lambda name, **labels: counter(before, after, name, **labels)  # noqa: E731
    assert c("llmledger_ingest_events_total", path="http", outcome="accepted") == 2
    assert c("llmledger_ingest_events_total", path="http", outcome="duplicate") == 1
    assert c("llmledger_ingest_events_total", path="http", outcome="rejected") == 1
    assert c("llmledger_ingest_events_total", path="otlp", outcome="accepted") == 2
    assert c("llmledger_ingest_events_total", path="otlp", outcome="duplicate") == 2
    assert c("llmledger_otlp_spans_ignored_total", reason="no-usage") == 2
    assert c("llmledger_otlp_spans_ignored_total", reason="not-a-model-call") == 2
    assert c("llmledger_ingest_request_seconds_count", path="http", status="200") == 2
    assert c("llmledger_ingest_request_seconds_count", path="otlp", status="200") == 2
    # four batches reached the writer: four groups (or fewer, when two were committed together)
    assert 1 <= c("llmledger_writer_group_events_count") <= 4
    assert c("llmledger_writer_group_events_sum") == 2 + 1 + 2 + 2
    assert c("llmledger_writer_commit_seconds_count") == c("llmledger_writer_group_events_count")
    assert ("llmledger_writer_queue_depth", ()) in after
    # the registry is the process's: other tests on this worker may have delivered before
    assert c("llmledger_alert_deliveries_total", channel="email", outcome="sent") == 0
    assert ("process_cpu_seconds_total", ()) in after
    # no label this traffic made holds an organisation, a user or a model (the registry is the
    # process's: an import test on this worker may have counted runs by provider before)
    values = {v for (name, labels) in after if (name, labels) not in before for _, v in labels}
    assert not values & {"acme", "secret-user", "gpt-4o", "openai"}


def test_only_admins_read_metrics_by_default(
    client: TestClient, admin, ledger, ingest_key_for
) -> None:
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", name="v", org_id="acme")[1]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer llt_forged"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    assert client.get("/metrics", headers=ingest_key_for("acme")).status_code == 403
    # no metrics token is configured, so no string works as one
    assert (
        client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code
        == 401
    )
    assert client.get("/metrics", headers=admin).status_code == 200


@pytest.fixture
def configured(
    settings: Settings, ledger: Ledger, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    changed = settings.model_copy(update=request.param)
    led = Ledger(changed, engine=ledger.engine)
    led.reload_prices()
    with TestClient(create_app(ledger=led)) as c:
        yield c
    led.close()


@pytest.mark.parametrize("configured", [{"metrics_token": SecretStr(METRICS_TOKEN)}], indirect=True)
def test_the_metrics_token_reads_metrics_and_nothing_else(configured: TestClient) -> None:
    token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert configured.get("/metrics", headers=token).status_code == 200
    assert (
        configured.get(
            "/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}
        ).status_code
        == 401
    )
    assert configured.get("/api/v1/admin/llm-costs/global", headers=token).status_code == 401


@pytest.mark.parametrize("configured", [{"metrics": False}], indirect=True)
def test_metrics_can_be_turned_off(configured: TestClient, admin) -> None:
    assert configured.get("/metrics", headers=admin).status_code == 404
