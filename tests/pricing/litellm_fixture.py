"""A small catalog in LiteLLM's ``model_prices_and_context_window.json`` format, written by the
tests (LiteLLM's own file is never downloaded in tests), and the rows it must sync into."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

CATALOG: dict[str, Any] = {
    "sample_spec": {
        "input_cost_per_token": 0.0,
        "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
        "mode": "one of: chat, embedding, completion, image_generation, ...",
    },
    "fallback_generalizations": ["not", "a", "model"],
    "gpt-4o": {
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "cache_read_input_token_cost": 1.25e-06,
        "input_cost_per_token_batches": 1.25e-06,
        "litellm_provider": "openai",
        "max_input_tokens": 128000,
        "mode": "chat",
        "supports_prompt_caching": True,
    },
    "o4-mini": {
        "input_cost_per_token": 1.1e-06,
        "output_cost_per_token": 4.4e-06,
        "output_cost_per_reasoning_token": 4.4e-06,
        "cache_read_input_token_cost": 2.75e-07,
        "litellm_provider": "openai",
        "mode": "chat",
    },
    "gpt-4o-audio-preview": {
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "input_cost_per_audio_token": 4e-05,
        "output_cost_per_audio_token": 8e-05,
        "litellm_provider": "openai",
        "mode": "chat",
    },
    "claude-sonnet-4-5-20250929": {
        "input_cost_per_token": 3e-06,
        "output_cost_per_token": 1.5e-05,
        "cache_read_input_token_cost": 3e-07,
        "cache_creation_input_token_cost": 3.75e-06,
        "cache_creation_input_token_cost_above_1hr": 6e-06,
        "input_cost_per_token_above_200k_tokens": 6e-06,
        "output_cost_per_token_above_200k_tokens": 2.25e-05,
        "cache_read_input_token_cost_above_200k_tokens": 6e-07,
        "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
        "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.2e-05,
        "litellm_provider": "anthropic",
        "mode": "chat",
    },
    "gemini/gemini-2.5-pro": {
        "input_cost_per_token": 1.25e-06,
        "output_cost_per_token": 1e-05,
        "input_cost_per_token_above_200k_tokens": 2.5e-06,
        "output_cost_per_token_above_200k_tokens": 1.5e-05,
        "litellm_provider": "gemini",
        "mode": "chat",
    },
    "xai/grok-3": {
        "input_cost_per_token": 3e-06,
        "output_cost_per_token": 1.5e-05,
        "litellm_provider": "xai",
        "mode": "chat",
    },
    "bedrock/us-east-1/anthropic.claude-3-5-sonnet-20241022-v2:0": {
        "input_cost_per_token": 3e-06,
        "output_cost_per_token": 1.5e-05,
        "litellm_provider": "bedrock",
        "mode": "chat",
    },
    "openrouter/openai/gpt-4o": {
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "litellm_provider": "openrouter",
        "mode": "chat",
    },
    "azure/gpt-4o-2024-08-06": {
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "litellm_provider": "azure",
        "mode": "chat",
    },
    "azure/eu/gpt-4o-2024-08-06": {
        "input_cost_per_token": 2.75e-06,
        "output_cost_per_token": 1.1e-05,
        "litellm_provider": "azure",
        "mode": "chat",
    },
    "perplexity/sonar-deep-research": {
        "input_cost_per_token": 2e-06,
        "output_cost_per_token": 8e-06,
        "input_cost_per_request": 0.005,
        "litellm_provider": "perplexity",
        "mode": "chat",
    },
    "deepseek/deepseek-chat": {
        "input_cost_per_token": 2.7999999999999998e-07,
        "output_cost_per_token": 4.2000000000000006e-07,
        "cache_read_input_token_cost": 2.8e-08,
        "litellm_provider": "deepseek",
        "mode": "chat",
    },
    "acme-noisy": {
        "input_cost_per_token": 2.9999900000000002e-06,
        "output_cost_per_token": 1.1000000000000001e-06,
        "litellm_provider": "acme",
        "mode": "chat",
    },
    "text-embedding-3-small": {
        "input_cost_per_token": 2e-08,
        "output_cost_per_token": 0.0,
        "litellm_provider": "openai",
        "mode": "embedding",
    },
    "dall-e-3": {
        "litellm_provider": "openai",
        "mode": "image_generation",
        "output_cost_per_image": 0.04,
    },
    "tts-1": {
        "input_cost_per_character": 1.5e-05,
        "litellm_provider": "openai",
        "mode": "audio_speech",
    },
    "free-for-now": {"litellm_provider": "acme", "mode": "chat", "max_tokens": 8192},
    "broken-price": {"input_cost_per_token": "lots", "litellm_provider": "acme", "mode": "chat"},
    "claude-3-haiku-20240307": {"input_cost_per_token": 2.5e-07, "output_cost_per_token": 1.25e-06},
    "mystery-7b": {"input_cost_per_token": 1e-07, "output_cost_per_token": 1e-07},
    "not-an-entry": "a string",
}

#: (provider, model) → the rows' prices as the API writes them
EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    ("openai", "gpt-4o"): {
        "inputPerMillion": "2.5",
        "outputPerMillion": "10",
        "cacheReadPerMillion": "1.25",
    },
    ("openai", "o4-mini"): {
        "inputPerMillion": "1.1",
        "outputPerMillion": "4.4",
        "reasoningPerMillion": "4.4",
        "cacheReadPerMillion": "0.275",
    },
    ("openai", "gpt-4o-audio-preview"): {
        "inputPerMillion": "2.5",
        "outputPerMillion": "10",
        "inputAudioPerMillion": "40",
        "outputAudioPerMillion": "80",
    },
    ("anthropic", "claude-sonnet-4-5-20250929"): {
        "inputPerMillion": "3",
        "outputPerMillion": "15",
        "cacheReadPerMillion": "0.3",
        "cacheWrite5mPerMillion": "3.75",
        "cacheWrite1hPerMillion": "6",
        "tiers": [
            {
                "aboveInputTokens": 200000,
                "inputPerMillion": "6",
                "outputPerMillion": "22.5",
                "cacheReadPerMillion": "0.6",
                "cacheWrite5mPerMillion": "7.5",
                "cacheWrite1hPerMillion": "12",
            }
        ],
    },
    ("google", "gemini-2.5-pro"): {
        "inputPerMillion": "1.25",
        "outputPerMillion": "10",
        "tiers": [{"aboveInputTokens": 200000, "inputPerMillion": "2.5", "outputPerMillion": "15"}],
    },
    ("x-ai", "grok-3"): {"inputPerMillion": "3", "outputPerMillion": "15"},
    ("aws", "anthropic.claude-3-5-sonnet-20241022-v2:0"): {
        "inputPerMillion": "3",
        "outputPerMillion": "15",
    },
    ("openrouter", "openai/gpt-4o"): {"inputPerMillion": "2.5", "outputPerMillion": "10"},
    ("azure", "gpt-4o-2024-08-06"): {"inputPerMillion": "2.5", "outputPerMillion": "10"},
    ("perplexity", "sonar-deep-research"): {
        "inputPerMillion": "2",
        "outputPerMillion": "8",
        "perRequest": "0.005",
    },
    ("deepseek", "deepseek-chat"): {
        "inputPerMillion": "0.28",
        "outputPerMillion": "0.42",
        "cacheReadPerMillion": "0.028",
    },
    ("acme", "acme-noisy"): {"inputPerMillion": "2.99999", "outputPerMillion": "1.1"},
    ("openai", "text-embedding-3-small"): {"inputPerMillion": "0.02", "outputPerMillion": "0"},
    # no litellm_provider: inferred from the name
    ("anthropic", "claude-3-haiku-20240307"): {
        "inputPerMillion": "0.25",
        "outputPerMillion": "1.25",
    },
}

SKIPPED = {
    "sample_spec": "not a model",
    "fallback_generalizations": "not a model",
    "not-an-entry": "not a model",
    "dall-e-3": "mode 'image_generation'",
    "tts-1": "mode 'audio_speech'",
    "free-for-now": "no per-token price",
    "azure/eu/gpt-4o-2024-08-06": "same model as 'azure/gpt-4o-2024-08-06'",
    "mystery-7b": "no litellm_provider, and none can be inferred from the name",
}


def catalog(**changes: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of the catalog; ``changes`` replace (or, with ``None``, drop) entries."""
    data = copy.deepcopy(CATALOG)
    for key, entry in changes.items():
        if entry is None:
            data.pop(key, None)
        else:
            data[key] = entry
    return data


def write(path: Path, data: dict[str, Any] | None = None) -> Path:
    path.write_text(json.dumps(CATALOG if data is None else data, indent=4))
    return path
