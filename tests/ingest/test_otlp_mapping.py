"""The span rules on their own: provider spellings, which operations are charged, and which
emitters count the cache beside the input."""

from __future__ import annotations

from typing import Any

import pytest

from llmledger.ingest.otlp.mapping import cache_beside_input, operation_of, provider_of
from llmledger.ingest.otlp.spans import Span


@pytest.mark.parametrize(
    ("attrs", "provider"),
    [
        ({"gen_ai.provider.name": "azure.ai.openai"}, "azure"),
        ({"gen_ai.provider.name": "gcp.gemini"}, "google"),
        ({"gen_ai.provider.name": "gcp.vertex_ai"}, "vertex_ai"),
        ({"gen_ai.provider.name": "aws.bedrock"}, "aws"),
        ({"gen_ai.provider.name": "x_ai"}, "x-ai"),
        ({"gen_ai.system": "xai"}, "x-ai"),
        ({"gen_ai.system": "mistral_ai"}, "mistral"),
        ({"gen_ai.system": "Anthropic"}, "anthropic"),  # OpenLLMetry's spelling
        # the current name wins over the older one
        ({"gen_ai.provider.name": "aws.bedrock", "gen_ai.system": "anthropic"}, "aws"),
        ({}, "openai"),  # nothing said: inferred from the model
    ],
)
def test_provider_spellings(attrs: dict[str, Any], provider: str) -> None:
    assert provider_of(attrs, "gpt-4o") == provider


@pytest.mark.parametrize(
    ("attrs", "charged"),
    [
        ({"gen_ai.operation.name": "chat"}, True),
        ({"gen_ai.operation.name": "generate_content"}, True),
        ({"gen_ai.operation.name": "embeddings"}, True),
        ({"gen_ai.operation.name": "text_completion"}, True),
        ({"gen_ai.operation.name": "invoke_agent"}, False),
        ({"gen_ai.operation.name": "execute_tool"}, False),
        ({"llm.request.type": "completion"}, True),
        ({"traceloop.span.kind": "workflow"}, False),
        ({}, None),  # decided by the spans below it
    ],
)
def test_only_model_calls_are_charged(attrs: dict[str, Any], charged: bool | None) -> None:
    assert operation_of(attrs)[1] is charged


def _span(scope: str, resource: dict[str, Any]) -> Span:
    return Span("0" * 32, "0" * 16, "", "chat", 1, 2, {}, resource, scope)


def test_openlit_anthropic_spans_count_the_cache_beside_the_input() -> None:
    assert cache_beside_input(_span("openlit.otel.tracing", {}), "anthropic")
    assert cache_beside_input(_span("x", {"telemetry.sdk.name": "openlit"}), "anthropic")
    assert not cache_beside_input(_span("openlit.otel.tracing", {}), "openai")
    assert not cache_beside_input(_span("opentelemetry.instrumentation.anthropic", {}), "anthropic")
    assert not cache_beside_input(_span("pydantic-ai", {}), "anthropic")


def test_the_event_id_is_the_uuid5_of_organisation_trace_and_span() -> None:
    import uuid

    from llmledger.ingest.otlp.mapping import SPAN_NAMESPACE, event_id

    for org in ("acme", None, "ünïcode"):
        span = Span(
            "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "", "c", 1, 2, {}, {}, ""
        )
        expected = uuid.uuid5(SPAN_NAMESPACE, f"{org or ''}/{span.trace_id}/{span.span_id}")
        assert event_id(org, span) == str(expected)
