"""Usage normalisers: exact mappings from the provider reference (§4)."""

from __future__ import annotations

from llmledger import normalize


def test_openai_chat_spec_example() -> None:
    usage = {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    assert normalize.openai_chat(usage) == {"inputTokens": 19, "outputTokens": 10}


def test_openai_chat_parts() -> None:
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 300,
        "prompt_tokens_details": {
            "cached_tokens": 600,
            "cache_write_tokens": 100,
            "audio_tokens": 50,
        },
        "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": 40},
    }
    assert normalize.openai_chat(usage) == {
        "inputTokens": 1000,
        "outputTokens": 300,
        "cacheReadTokens": 600,
        "cacheWrite5mTokens": 100,
        "reasoningTokens": 200,
        "inputAudioTokens": 50,
        "outputAudioTokens": 40,
    }


def test_openrouter_cost_is_an_exact_decimal_string() -> None:
    usage = {
        "completion_tokens": 2,
        "completion_tokens_details": {"reasoning_tokens": 0},
        "cost": 0.95,
        "cost_details": {"upstream_inference_cost": 19},
        "prompt_tokens": 194,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 100, "audio_tokens": 0},
        "total_tokens": 196,
    }
    assert normalize.openai_chat(usage) == {
        "inputTokens": 194,
        "outputTokens": 2,
        "cacheWrite5mTokens": 100,
        "costUsd": "0.95",
    }


def test_responses_usage_with_and_without_details() -> None:
    full = {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 12, "cache_write_tokens": 4},
        "output_tokens": 87,
        "output_tokens_details": {"reasoning_tokens": 30},
        "total_tokens": 123,
    }
    assert normalize.openai_responses(full) == {
        "inputTokens": 36,
        "outputTokens": 87,
        "cacheReadTokens": 12,
        "cacheWrite5mTokens": 4,
        "reasoningTokens": 30,
    }
    streamed = {"input_tokens": 37, "output_tokens": 11, "total_tokens": 48}
    assert normalize.openai_responses(streamed) == {"inputTokens": 37, "outputTokens": 11}


def test_anthropic_input_excludes_cache_tokens() -> None:
    usage = {
        "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
        "cache_creation_input_tokens": 2051,
        "cache_read_input_tokens": 2051,
        "input_tokens": 2095,
        "output_tokens": 503,
        "service_tier": "standard",
    }
    assert normalize.anthropic(usage) == {
        "inputTokens": 2095 + 2051 + 2051,
        "outputTokens": 503,
        "cacheReadTokens": 2051,
        "cacheWrite5mTokens": 2051,
    }


def test_anthropic_ttl_split() -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 300,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        "output_tokens_details": {"thinking_tokens": 3},
    }
    assert normalize.anthropic(usage) == {
        "inputTokens": 310,
        "outputTokens": 5,
        "cacheWrite5mTokens": 100,
        "cacheWrite1hTokens": 200,
        "reasoningTokens": 3,
    }


def test_anthropic_stream_deltas_are_cumulative() -> None:
    start = {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 5}
    deltas = [{"output_tokens": 7}, {"output_tokens": 15, "input_tokens": None}]
    merged = normalize.anthropic_stream_usage(start, deltas)
    assert normalize.anthropic(merged) == {
        "inputTokens": 30,
        "outputTokens": 15,
        "cacheReadTokens": 5,
    }


def test_sdk_objects_read_like_dicts() -> None:
    from anthropic.types import Usage
    from openai.types import CompletionUsage

    chat = CompletionUsage.model_validate(
        {
            "prompt_tokens": 9,
            "completion_tokens": 4,
            "total_tokens": 13,
            "prompt_tokens_details": {"cached_tokens": 3},
        }
    )
    assert normalize.openai_chat(chat) == {
        "inputTokens": 9,
        "outputTokens": 4,
        "cacheReadTokens": 3,
    }
    usage = Usage(input_tokens=5, output_tokens=2, cache_read_input_tokens=1)
    merged = normalize.anthropic_stream_usage(usage, [])
    assert normalize.anthropic(merged)["inputTokens"] == 6


def test_garbage_is_ignored() -> None:
    assert normalize.openai_chat(None) == {"inputTokens": 0, "outputTokens": 0}
    assert normalize.openai_chat({"prompt_tokens": "x", "cost": "nan?"}) == {
        "inputTokens": 0,
        "outputTokens": 0,
    }
    assert normalize.openai_embeddings({"prompt_tokens": 8, "total_tokens": 8}) == {
        "inputTokens": 8,
        "outputTokens": 0,
    }
