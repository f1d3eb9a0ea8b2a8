"""One OTLP span with GenAI usage as one usage event (docs/otel.md has the table).

``event_of`` returns the event in its JSON form (camelCase, what ``POST /api/v1/events``
takes), so the span goes through exactly the contract and the pipeline of every other event. A
span is *charged* only when it is a model call; an agent or workflow span that sums its
children's usage is not, so nothing is counted twice:

1. with ``gen_ai.operation.name``: charged when the operation is a model call (``chat``,
   ``text_completion``, ``generate_content``, ``embeddings``, ...), else not;
2. else with ``llm.request.type`` (older OpenLLMetry): the same, by its values;
3. else with ``traceloop.span.kind`` naming a workflow, task, agent or tool: not charged;
4. else (nothing names the operation): charged, unless a span of the same request below it
   is charged (then it is taken for their sum).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmledger.ingest.otlp.spans import STATUS_ERROR, Span
from llmledger.pricing.infer import infer_provider

#: the namespace of event ids derived from (organisation, trace id, span id)
SPAN_NAMESPACE = uuid.UUID("6f1d7c1e-3b1a-5c55-9a64-0e2b1f0a7d3c")

#: operations that are one call of a model (charged); any other named operation is not
MODEL_CALLS = frozenset(
    {
        "chat",
        "text_completion",
        "completion",
        "generate_content",
        "embeddings",
        "embedding",
        "responses",
        "rerank",
        "image_generation",
        "audio_transcription",
        "speech",
    }
)
#: ``traceloop.span.kind`` values of spans that wrap model calls (never charged)
WRAPPER_KINDS = frozenset({"workflow", "task", "agent", "tool"})

#: OTel provider names (``gen_ai.provider.name``, ``gen_ai.system``) → llmledger's
PROVIDERS = {
    "azure.ai.openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "azure_openai": "azure",
    "azure": "azure",
    "aws.bedrock": "aws",
    "aws_bedrock": "aws",
    "bedrock": "aws",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "google_genai": "google",
    "google": "google",
    "gcp.vertex_ai": "vertex_ai",
    "vertex_ai": "vertex_ai",
    "vertexai": "vertex_ai",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "ibm.watsonx.ai": "ibm",
    "watsonx": "ibm",
}

_PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_MODEL = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.response.model",
    "llm.request.model",
    "llm.model_name",
)
_INPUT = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.usage.prompt_tokens",
    "llm.token_count.prompt",
)
_OUTPUT = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens",
    "llm.token_count.completion",
)
_CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.details.cache_read_tokens",
    "llm.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
_CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.details.cache_write_tokens",
    "llm.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
_REASONING = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.details.reasoning_tokens",
    "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
#: a cost in USD the emitter worked out or the provider reported
_COST = ("gen_ai.usage.cost", "gen_ai.usage.cost_usd", "gen_ai.usage.cost.amount")
_USAGE = (*_INPUT, *_OUTPUT, *_CACHE_READ, *_CACHE_WRITE, *_REASONING, *_COST)
#: time to first token, in seconds
_TTFT = (
    "gen_ai.server.time_to_first_token",
    "gen_ai.response.time_to_first_chunk",
    "llm.chat_completions.streaming_time_to_first_token",
)

#: event field → the attributes that fill it (span first, then resource), first found wins
ATTRIBUTION: dict[str, tuple[str, ...]] = {
    "sessionId": (
        "gen_ai.conversation.id",
        "session.id",
        "traceloop.association.properties.session_id",
    ),
    "agent": ("gen_ai.agent.name", "agent_name"),
    "userId": ("user.id", "enduser.id", "traceloop.association.properties.user_id"),
    "requestId": ("gen_ai.response.id",),
}

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SpanRejected(ValueError):
    """The span carries usage but cannot be an event; the message names the attribute."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What a span is: an event, or why it is not one (``skip``: ``no-usage`` or
    ``not-a-model-call``)."""

    event: dict[str, Any] | None = None
    skip: str | None = None


def _first(attrs: Mapping[str, Any], names: Iterable[str]) -> tuple[str, Any] | None:
    for name in names:
        value = attrs.get(name)
        if value is not None:
            return name, value
    return None


def _count(attrs: Mapping[str, Any], names: tuple[str, ...]) -> int | None:
    found = _first(attrs, names)
    if found is None:
        return None
    name, value = found
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpanRejected(f"{name}: must be a whole number of tokens, not {value!r}")
    return value


def _label(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def provider_of(attrs: Mapping[str, Any], model: str) -> str:
    found = _first(attrs, _PROVIDER)
    name = _label(found[1]) if found else None
    if name is None:
        return infer_provider(model) or "unknown"
    name = name.strip().lower()
    return PROVIDERS.get(name, name)


def operation_of(attrs: Mapping[str, Any]) -> tuple[str | None, bool | None]:
    """The span's operation, and whether that makes it a model call (``None``: unknown)."""
    for name in ("gen_ai.operation.name", "llm.request.type"):
        op = _label(attrs.get(name))
        if op is not None:
            return op, op.strip().lower() in MODEL_CALLS
    kind = _label(attrs.get("traceloop.span.kind"))
    if kind is not None and kind.lower() in WRAPPER_KINDS:
        return None, False
    return None, None


def emitter_of(span: Span) -> str | None:
    """The instrumentation library that made the span, where its convention matters."""
    if span.resource.get("telemetry.sdk.name") == "openlit" or span.scope.startswith("openlit"):
        return "openlit"
    return None


def cache_beside_input(span: Span, provider: str) -> bool:
    """Whether the span's cache counts are beside its input count, not parts of it: OpenLIT
    copies Anthropic's ``input_tokens`` (the uncached input) into ``gen_ai.usage.input_tokens``.
    OpenLLMetry, Pydantic AI and the GenAI conventions count the cache inside the input."""
    return provider == "anthropic" and emitter_of(span) == "openlit"


def has_usage(attrs: Mapping[str, Any]) -> bool:
    return any(attrs.get(name) is not None for name in _USAGE)


_NAMESPACE_BYTES = SPAN_NAMESPACE.bytes


def event_id(key_org: str | None, span: Span) -> str:
    """The same span re-sent through the same organisation's key is the same event: the
    UUIDv5 of ``org/traceId/spanId`` in ``SPAN_NAMESPACE`` (``uuid.uuid5``'s value, made
    without its objects: this runs once per span)."""
    name = f"{key_org or ''}/{span.trace_id}/{span.span_id}".encode()
    raw = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _timestamp(nanos: int) -> str:
    return (_EPOCH + dt.timedelta(microseconds=nanos // 1000)).isoformat()


def _cost(attrs: Mapping[str, Any]) -> str | None:
    found = _first(attrs, _COST)
    if found is None:
        return None
    name, value = found
    currency = attrs.get("gen_ai.usage.cost.currency")
    if name == "gen_ai.usage.cost.amount" and currency not in (None, "USD", "usd"):
        return None  # llmledger counts USD; the span is priced from its tokens instead
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SpanRejected(f"{name}: must be a number of US dollars, not {value!r}")
    if name == "gen_ai.usage.cost" and isinstance(value, int | float) and value == 0:
        return None  # OpenLIT's cost when it has no price for the model: priced from tokens
    return repr(value) if isinstance(value, float) else str(value)


def event_of(
    span: Span,
    *,
    key_org: str | None,
    attribute_map: Mapping[str, str],
) -> dict[str, Any]:
    """The event of a charged span (see the module's rules); ``SpanRejected`` when it cannot be."""
    if span.problem:
        raise SpanRejected(span.problem)
    attrs = span.attributes
    model_found = _first(attrs, _MODEL)
    model = _label(model_found[1]) if model_found else None
    if model is None:
        raise SpanRejected("no model: set gen_ai.response.model or gen_ai.request.model")
    if span.start_ns <= 0:
        raise SpanRejected("startTimeUnixNano is missing")
    inp = _count(attrs, _INPUT) or 0
    out = _count(attrs, _OUTPUT) or 0
    cache_read = _count(attrs, _CACHE_READ) or 0
    cache_write = _count(attrs, _CACHE_WRITE) or 0
    reasoning = _count(attrs, _REASONING) or 0
    provider = provider_of(attrs, model)
    # the GenAI rule: cache counts are parts of the input count, reasoning of the output count;
    # an emitter known to copy Anthropic's usage as it is reports cache beside the input, and
    # counts larger than their whole can only have been reported beside it
    if cache_beside_input(span, provider) or cache_read + cache_write > inp:
        inp += cache_read + cache_write
    if reasoning > out:
        out += reasoning
    event: dict[str, Any] = {
        "eventId": event_id(key_org, span),
        "timestamp": _timestamp(span.start_ns),
        "provider": provider,
        "model": model,
        "inputTokens": inp,
        "outputTokens": out,
        "cacheReadTokens": cache_read,
        "cacheWrite5mTokens": cache_write,
        "reasoningTokens": reasoning,
        "success": span.status_code != STATUS_ERROR,
    }
    operation, _ = operation_of(attrs)
    if operation is not None:
        event["operation"] = operation
    if span.end_ns >= span.start_ns > 0 and span.end_ns:
        event["latencyMs"] = (span.end_ns - span.start_ns) // 1_000_000
    ttft = _first(attrs, _TTFT)
    seconds = ttft[1] if ttft is not None else None
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        event["timeToFirstTokenMs"] = round(seconds * 1000)
    for flag in ("gen_ai.request.stream", "llm.is_streaming"):
        if isinstance(attrs.get(flag), bool):
            event["stream"] = attrs[flag]
            break
    status = attrs.get("http.response.status_code")
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        event["statusCode"] = status
    error_type = _label(attrs.get("error.type"))
    if error_type is not None:
        event["errorType"] = error_type
    cost = _cost(attrs)
    if cost is not None:
        event["costUsd"] = cost
    _attribute(event, span, attribute_map)
    metadata = {"traceId": span.trace_id, "spanId": span.span_id}
    service = _label(span.resource.get("service.name"))
    if service is not None:
        metadata["service.name"] = service
    if span.name:
        metadata["spanName"] = span.name[:256]
    event["metadata"] = metadata
    return event


def _attribute(event: dict[str, Any], span: Span, attribute_map: Mapping[str, str]) -> None:
    for field, names in ATTRIBUTION.items():
        for source in (span.attributes, span.resource):
            found = _first(source, names)
            value = _label(found[1]) if found else None
            if value is not None:
                event[field] = value
                break
    for name, field in attribute_map.items():
        value = _label(span.attributes.get(name))
        if value is None:
            value = _label(span.resource.get(name))
        if value is not None:
            event[field] = value
