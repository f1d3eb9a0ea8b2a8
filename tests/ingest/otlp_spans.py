"""Spans shaped like each emitter's output, made and exported by the real OpenTelemetry SDK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.common.http import Compression as JsonCompression
from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JsonSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as ProtobufSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

#: span name → (attributes, the cost in nano-dollars it must come to)
#: prices (USD per million tokens) of the bundled catalog: gpt-4o 2.5 in, 1.25 cached, 10 out;
#: claude-sonnet-4-5 3 in, 0.3 cache read, 3.75 cache write 5m, 15 out; o3-mini 1.1 in,
#: 4.4 out; grok-3 3 in, 15 out; gpt-4o-mini 0.15 in, 0.6 out
EMITTERS: dict[str, tuple[dict[str, Any], int]] = {
    # the current GenAI conventions: cache inside input, reasoning inside output
    "semconv chat": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.cache_read.input_tokens": 200,
            "gen_ai.usage.output_tokens": 500,
            "gen_ai.conversation.id": "conv-1",
            "gen_ai.agent.name": "IRIS",
            "user.id": "alice",
            "gen_ai.response.id": "chatcmpl-1",
        },
        # 800 * 2.5 + 200 * 1.25 + 500 * 10 = 7250 $/M
        7_250_000,
    ),
    # OpenLLMetry before the official names: prompt/completion tokens, llm.request.type,
    # traceloop association properties; OpenAI's reasoning inside its completion count
    "openllmetry legacy": (
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "o3-mini",
            "gen_ai.usage.prompt_tokens": 2000,
            "gen_ai.usage.completion_tokens": 1000,
            "gen_ai.usage.reasoning_tokens": 600,
            "traceloop.association.properties.user_id": "bob",
            "traceloop.association.properties.session_id": "sess-9",
        },
        # 2000 * 1.1 + 1000 * 4.4 = 6600 $/M
        6_600_000,
    ),
    # Anthropic's own usage copied as is: cache read/creation beside the (uncached) input
    "anthropic beside": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.cache_read_input_tokens": 5000,
            "gen_ai.usage.cache_creation_input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
            "session.id": "sess-a",
        },
        # 100 * 3 + 5000 * 0.3 + 1000 * 3.75 + 200 * 15 = 8550 $/M
        8_550_000,
    ),
    # the same usage with cache inside input, as the GenAI conventions count it
    "anthropic inside": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 6100,
            "gen_ai.usage.cache_read.input_tokens": 5000,
            "gen_ai.usage.cache_creation.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
        },
        8_550_000,
    ),
    # OpenLIT reports a cost it worked out: kept exactly (costSource provider)
    "openlit cost": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "xai",
            "gen_ai.request.model": "grok-3",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 10,
            "gen_ai.usage.cost": 0.000123456,
            "gen_ai.application_name": "support-bot",
        },
        123_456,
    ),
    # OpenLIT copies Anthropic's input_tokens (uncached) and its cost is 0 when it has no price
    # for the model: cache beside input, even when smaller than it; priced from the tokens
    "openlit anthropic": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 10_000,
            "gen_ai.usage.cache_read.input_tokens": 500,
            "gen_ai.usage.cache_creation.input_tokens": 0,
            "gen_ai.usage.output_tokens": 100,
            "gen_ai.usage.cost": 0.0,
        },
        # 10000 * 3 + 500 * 0.3 + 100 * 15 = 31650 $/M
        31_650_000,
    ),
    # OpenLLMetry's Anthropic instrumentation: its input count already sums the cache
    "openllmetry anthropic": (
        {
            "llm.request.type": "completion",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 6100,
            "gen_ai.usage.cache_read_input_tokens": 5000,
            "gen_ai.usage.cache_creation_input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
        },
        8_550_000,
    ),
    # Pydantic AI (Logfire): cache inside input, provider extras under gen_ai.usage.details.*
    "pydantic ai": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 6100,
            "gen_ai.usage.details.cache_read_tokens": 5000,
            "gen_ai.usage.details.cache_write_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
            "gen_ai.agent.name": "support",
        },
        8_550_000,
    ),
    "azure failed": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "azure.ai.openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 0,
            "error.type": "timeout",
            "enduser.id": "carol",
        },
        # 1000 * 0.15 = 150 $/M
        150_000,
    ),
}


#: span name → the instrumentation scope it is made under (default ``tests.otlp``)
SCOPES = {
    "openlit anthropic": "openlit.otel.tracing",
    "openllmetry anthropic": "opentelemetry.instrumentation.anthropic",
    "pydantic ai": "pydantic-ai",
}


def traffic() -> list[ReadableSpan]:
    """One trace per emitter style, inside an agent span that sums them (never charged), and a
    span with no GenAI usage (ignored)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.otlp")
    with tracer.start_as_current_span("invoke_agent IRIS") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        agent.set_attribute("gen_ai.usage.input_tokens", 99_999)
        agent.set_attribute("gen_ai.usage.output_tokens", 99_999)
        for name, (attributes, _) in EMITTERS.items():
            emitter = provider.get_tracer(SCOPES.get(name, "tests.otlp"))
            with emitter.start_as_current_span(name) as span:
                span.set_attributes(attributes)
                if "error.type" in attributes:
                    span.set_status(Status(StatusCode.ERROR, "timed out"))
        with tracer.start_as_current_span("GET /cart") as plain:
            plain.set_attribute("http.request.method", "GET")
    provider.shutdown()
    return list(memory.get_finished_spans())


def exporter(encoding: str, url: str, key: str, *, gzip: bool = False, header: str = "bearer"):  # type: ignore[no-untyped-def]
    """The SDK's OTLP/HTTP exporter of ``encoding`` (``protobuf`` or ``json``)."""
    headers = {"x-api-key": key} if header == "x-api-key" else {"Authorization": f"Bearer {key}"}
    endpoint = f"{url}/v1/traces"
    if encoding == "protobuf":
        compression = Compression.Gzip if gzip else Compression.NoCompression
        return ProtobufSpanExporter(
            endpoint=endpoint, headers=headers, compression=compression, timeout=60
        )
    json_compression = JsonCompression.GZIP if gzip else JsonCompression.NONE
    return JsonSpanExporter(
        endpoint=endpoint, headers=headers, compression=json_compression, timeout=60
    )


def export(exp: Any, spans: Sequence[ReadableSpan]) -> SpanExportResult:
    result: SpanExportResult = exp.export(spans)
    return result
