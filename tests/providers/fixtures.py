"""Report buckets in the providers' documented shapes: several pages, an empty bucket, missing
optional fields, fields llmledger does not know, two results for one key, and a bucket after
the range imported."""

from __future__ import annotations

import datetime as dt
from typing import Any

D0 = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
DAY = 86400


def _iso(s: int) -> str:
    return dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _openai(day: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    start = D0 + day * DAY
    return {"object": "bucket", "start_time": start, "end_time": start + DAY, "results": results}


def _anthropic(day: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    start = D0 + day * DAY
    return {"starting_at": _iso(start), "ending_at": _iso(start + DAY), "results": results}


def completions(model: str, project: str | None, inp: int, out: int, n: int, **more: Any) -> Any:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": inp,
        "output_tokens": out,
        "num_model_requests": n,
        "project_id": project,
        "model": model,
        "user_id": None,
        **more,
    }


def openai_cost(value: float | int, item: str | None, project: str | None) -> Any:
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": "usd"},
        "line_item": item,
        "project_id": project,
        "organization_id": "org-undocumented",
    }


OPENAI = {
    "/organization/usage/completions": [
        _openai(
            0,
            [
                completions(
                    "gpt-4o-2024-08-06",
                    "proj_a",
                    1000,
                    500,
                    5,
                    input_cached_tokens=400,
                    input_cache_write_tokens=100,
                    input_future_tokens=3,  # a field llmledger does not know
                ),
                completions("gpt-4o-mini", None, 200, 50, 2),  # no cache fields at all
            ],
        ),
        _openai(1, []),  # a day without usage
        _openai(
            2,
            [  # one key twice (a dimension not grouped by): summed
                completions("gpt-4o-mini", "proj_a", 10, 1, 1, service_tier="default"),
                completions("gpt-4o-mini", "proj_a", 20, 2, 1, service_tier="flex"),
            ],
        ),
        _openai(3, [completions("gpt-4o-mini", "proj_a", 7, 7, 7)]),  # after the range
    ],
    "/organization/costs": [
        _openai(
            0,
            [
                openai_cost(0.123456789, "gpt-4o-2024-08-06, input", "proj_a"),
                openai_cost(2, "Web search tool calls", None),
            ],
        ),
        _openai(1, []),
        _openai(2, [openai_cost(0.00000155, "gpt-4o-mini, output", "proj_a")]),
        _openai(3, [openai_cost(9, "gpt-4o-mini, output", "proj_a")]),
    ],
}


def usage_result(kind: str, project: str | None, model: str | None = None, **values: Any) -> Any:
    """A result of one of OpenAI's other usage endpoints (``kind``: ``images``, ...)."""
    result = {"object": f"organization.usage.{kind}.result", "project_id": project, **values}
    if model is not None:
        result["model"] = model
    return result


#: OpenAI's usage endpoints beside completions, as served (several pages each, an empty
#: bucket, missing optional fields, a field llmledger does not know, a bucket after the range)
OPENAI_OTHER = {
    "/organization/usage/embeddings": [
        _openai(
            0,
            [
                usage_result(
                    "embeddings",
                    "proj_a",
                    "text-embedding-3-small",
                    input_tokens=3000,
                    num_model_requests=6,
                    user_id=None,
                    api_key_id=None,
                )
            ],
        ),
        _openai(1, []),
        # no request count at all
        _openai(2, [usage_result("embeddings", None, "text-embedding-3-small", input_tokens=100)]),
        _openai(3, [usage_result("embeddings", None, "text-embedding-3-small", input_tokens=9)]),
    ],
    "/organization/usage/moderations": [
        _openai(
            0,
            [
                usage_result(
                    "moderations",
                    "proj_a",
                    "omni-moderation-latest",
                    input_tokens=50,
                    num_model_requests=2,
                )
            ],
        ),
        _openai(1, []),
        _openai(2, []),
    ],
    "/organization/usage/images": [
        _openai(
            0,
            [  # one key twice: sizes and sources are not grouped by, so they are summed
                usage_result(
                    "images",
                    "proj_a",
                    "gpt-image-1",
                    images=3,
                    num_model_requests=2,
                    size="1024x1024",
                    source="image.generation",
                ),
                usage_result(
                    "images", "proj_a", "gpt-image-1", images=1, num_model_requests=1, size=None
                ),
            ],
        ),
        _openai(1, []),
        _openai(2, [usage_result("images", None, "dall-e-3", images=2)]),  # no request count
    ],
    "/organization/usage/audio_speeches": [
        _openai(
            0,
            [
                usage_result(
                    "audio_speeches", "proj_a", "tts-1", characters=1200, num_model_requests=3
                )
            ],
        ),
        _openai(1, []),
        _openai(2, []),
    ],
    "/organization/usage/audio_transcriptions": [
        _openai(
            0,
            [
                usage_result(
                    "audio_transcriptions",
                    "proj_a",
                    "whisper-1",
                    seconds=600,
                    num_model_requests=4,
                    input_audio_seconds_future=1,  # a field llmledger does not know
                )
            ],
        ),
        _openai(1, []),
        _openai(
            2,
            [
                usage_result(
                    "audio_transcriptions", "proj_b", "whisper-1", seconds=30, num_model_requests=1
                )
            ],
        ),
    ],
    "/organization/usage/vector_stores": [
        _openai(0, [usage_result("vector_stores", "proj_a", usage_bytes=1_048_576)]),
        _openai(1, [usage_result("vector_stores", "proj_a", usage_bytes=2_097_152)]),
        _openai(2, []),
        _openai(3, [usage_result("vector_stores", "proj_a", usage_bytes=7)]),  # after the range
    ],
    "/organization/usage/code_interpreter_sessions": [
        _openai(0, [usage_result("code_interpreter_sessions", "proj_a", num_sessions=5)]),
        _openai(1, []),
        _openai(2, [usage_result("code_interpreter_sessions", None)]),  # no count: nothing
    ],
}
OPENAI.update(OPENAI_OTHER)

ANTHROPIC = {
    "/organizations/usage_report/messages": [
        _anthropic(
            0,
            [
                {
                    "account_id": None,
                    "api_key_id": None,
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": 1000,
                        "ephemeral_5m_input_tokens": 500,
                    },
                    "cache_read_input_tokens": 200,
                    "context_window": None,
                    "inference_geo": None,
                    "model": "claude-sonnet-4-20250514",
                    "output_tokens": 500,
                    "server_tool_use": {"web_search_requests": 10},
                    "service_tier": None,
                    "uncached_input_tokens": 1500,
                    "workspace_id": "wrkspc_1",
                    "speed": None,  # newer than the reference
                },
                {
                    "model": "claude-sonnet-4-20250514",
                    "uncached_input_tokens": 10,
                    "output_tokens": 5,
                },
            ],
        ),
        _anthropic(1, []),
        _anthropic(2, [{"model": "claude-haiku-4-5", "workspace_id": None, "output_tokens": 1}]),
    ],
    "/organizations/cost_report": [
        _anthropic(
            0,
            [
                {
                    "amount": "123.78912",
                    "currency": "USD",
                    "cost_type": "tokens",
                    "description": "Claude Sonnet 4 Usage - Input Tokens",
                    "model": "claude-sonnet-4-20250514",
                    "token_type": "uncached_input_tokens",
                    "workspace_id": "wrkspc_1",
                },
                {
                    "amount": "50",
                    "currency": "USD",
                    "cost_type": "web_search",
                    "description": "Web Search",
                    "model": None,
                    "workspace_id": None,
                },
            ],
        ),
        _anthropic(1, []),
        _anthropic(
            2,
            [
                {
                    "amount": "0.5",
                    "currency": "USD",
                    "description": "Claude Haiku 4.5 Usage - Output Tokens",
                    "model": "claude-haiku-4-5",
                }
            ],
        ),
    ],
}
