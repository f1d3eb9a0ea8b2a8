"""Provider usage objects -> llmledger token fields (camelCase wire names).

Pure functions over either SDK objects or plain dicts (JSON), reading defensively: any field may
be absent or null. The rule they all follow is the event contract's: ``inputTokens`` is ALL
input (cache reads and writes and audio are parts of it) and ``outputTokens`` is ALL output
(reasoning and audio are parts of it).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    # pydantic models (the SDKs' types) keep fields in ``__dict__`` and unknown ones in
    # ``__pydantic_extra__``; reading those directly skips a slow ``__getattr__`` miss per field
    fields = getattr(obj, "__dict__", None)
    if fields is None:
        return getattr(obj, key, None)
    value = fields.get(key)
    if value is None:
        extra = fields.get("__pydantic_extra__") or getattr(obj, "__pydantic_extra__", None)
        if extra:
            value = extra.get(key)
    return value


def _int(obj: Any, key: str) -> int:
    value = _get(obj, key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _drop_zero(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v or k in ("inputTokens", "outputTokens")}


def _cost(value: Any) -> str | None:
    """A provider-reported cost (float or string credits, USD) as an exact decimal string."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return format(amount, "f") if amount.is_finite() and amount >= 0 else None


def openai_chat(usage: Any) -> dict[str, Any]:
    """Chat Completions ``CompletionUsage`` (also OpenRouter, Groq, DeepSeek... which share it);
    ``prompt_tokens`` already includes cached, cache-write and audio tokens."""
    prompt = _get(usage, "prompt_tokens_details")
    completion = _get(usage, "completion_tokens_details")
    cache_read = _int(prompt, "cached_tokens")
    cache_write = _int(prompt, "cache_write_tokens")
    input_audio = _int(prompt, "audio_tokens")
    reasoning = _int(completion, "reasoning_tokens")
    output_audio = _int(completion, "audio_tokens")
    fields = {
        "inputTokens": max(_int(usage, "prompt_tokens"), cache_read + cache_write, input_audio),
        "outputTokens": max(_int(usage, "completion_tokens"), reasoning + output_audio),
        "cacheReadTokens": cache_read,
        "cacheWrite5mTokens": cache_write,
        "reasoningTokens": reasoning,
        "inputAudioTokens": input_audio,
        "outputAudioTokens": output_audio,
    }
    out = _drop_zero(fields)
    cost = _cost(_get(usage, "cost"))  # OpenRouter: credits charged, in USD
    if cost is not None:
        out["costUsd"] = cost
    return out


def openai_responses(usage: Any) -> dict[str, Any]:
    """Responses API ``ResponseUsage``; the details objects may be missing in stream events."""
    details_in = _get(usage, "input_tokens_details")
    details_out = _get(usage, "output_tokens_details")
    cache_read = _int(details_in, "cached_tokens")
    cache_write = _int(details_in, "cache_write_tokens")
    reasoning = _int(details_out, "reasoning_tokens")
    out = _drop_zero(
        {
            "inputTokens": max(_int(usage, "input_tokens"), cache_read + cache_write),
            "outputTokens": max(_int(usage, "output_tokens"), reasoning),
            "cacheReadTokens": cache_read,
            "cacheWrite5mTokens": cache_write,
            "reasoningTokens": reasoning,
        }
    )
    cost = _cost(_get(usage, "cost"))
    if cost is not None:
        out["costUsd"] = cost
    return out


def openai_embeddings(usage: Any) -> dict[str, Any]:
    """Embeddings usage: only ``prompt_tokens`` (and ``total_tokens``)."""
    return {
        "inputTokens": _int(usage, "prompt_tokens") or _int(usage, "total_tokens"),
        "outputTokens": 0,
    }


def anthropic(usage: Any) -> dict[str, Any]:
    """Anthropic ``Usage``: ``input_tokens`` EXCLUDES cache reads and writes, so all three add
    up to the input. Cache writes split by TTL from ``cache_creation``; a bare
    ``cache_creation_input_tokens`` (older API) counts as 5-minute writes."""
    creation = _int(usage, "cache_creation_input_tokens")
    split = _get(usage, "cache_creation")
    write_1h = _int(split, "ephemeral_1h_input_tokens")
    write_5m = _int(split, "ephemeral_5m_input_tokens")
    if write_5m + write_1h < creation:
        write_5m = creation - write_1h
    cache_read = _int(usage, "cache_read_input_tokens")
    thinking = _int(_get(usage, "output_tokens_details"), "thinking_tokens")
    return _drop_zero(
        {
            "inputTokens": _int(usage, "input_tokens") + write_5m + write_1h + cache_read,
            "outputTokens": max(_int(usage, "output_tokens"), thinking),
            "cacheReadTokens": cache_read,
            "cacheWrite5mTokens": write_5m,
            "cacheWrite1hTokens": write_1h,
            "reasoningTokens": thinking,
        }
    )


def anthropic_stream_usage(start: Any, deltas: list[Any]) -> dict[str, Any]:
    """One usage dict from ``message_start``'s ``message.usage`` and the ``message_delta``
    usages, whose counts are cumulative: a later non-null value replaces, never adds."""
    merged: dict[str, Any] = {}
    for usage in (start, *deltas):
        if usage is None:
            continue
        items = usage.items() if isinstance(usage, dict) else _fields_of(usage)
        for key, value in items:
            if value is not None:
                merged[key] = value
    return merged


def _fields_of(obj: Any) -> list[tuple[str, Any]]:
    names = list(getattr(type(obj), "model_fields", {}) or ())
    extra = getattr(obj, "__pydantic_extra__", None) or {}
    return [(n, getattr(obj, n, None)) for n in names] + list(extra.items())
