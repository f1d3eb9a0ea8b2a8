"""The real ``openai`` SDK, wrapped, against the fake provider; events checked at the collector."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import openai
import pytest

import llmledger
from tests.capture.conftest import sent
from tests.capture.fake_collector import FakeCollector
from tests.capture.fake_provider import FakeProvider

MSGS = [{"role": "user", "content": "hi"}]


def test_wrap_keeps_type_and_identity(openai_client: openai.OpenAI) -> None:
    wrapped = llmledger.wrap(openai_client, agent="CIA")
    assert wrapped is openai_client and isinstance(wrapped, openai.OpenAI)


def test_chat_completion_is_recorded(sdk: FakeCollector, openai_client: openai.OpenAI) -> None:
    client = llmledger.wrap(openai_client, agent="CIA", provider="openai")
    with llmledger.attribute(org_id="acme", user_id="u42", session_id="chat-9", operation="sum"):
        result = client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
    assert type(result).__name__ == "ChatCompletion"
    assert result.choices[0].message.content == "Hello!"
    (event,) = sent(sdk)
    assert event["provider"] == "openai" and event["model"] == "gpt-4o-2024-08-06"
    assert (event["agent"], event["orgId"], event["userId"]) == ("CIA", "acme", "u42")
    assert (event["sessionId"], event["operation"]) == ("chat-9", "sum")
    assert (event["inputTokens"], event["outputTokens"]) == (19, 10)
    assert event["success"] is True and event["stream"] is False
    assert event["requestId"] == "req_fake" and isinstance(event["latencyMs"], int)


def test_cached_and_reasoning_tokens(sdk: FakeCollector, openai_client: openai.OpenAI) -> None:
    llmledger.wrap(openai_client).chat.completions.create(model="cached", messages=MSGS)  # type: ignore[arg-type]
    (event,) = sent(sdk)
    assert (event["inputTokens"], event["cacheReadTokens"]) == (1200, 1024)
    assert (event["outputTokens"], event["reasoningTokens"]) == (300, 256)


def test_stream_adds_include_usage_and_hides_the_usage_chunk(
    sdk: FakeCollector, openai_client: openai.OpenAI, provider: FakeProvider
) -> None:
    client = llmledger.wrap(openai_client)
    stream = client.chat.completions.create(model="gpt-4o", messages=MSGS, stream=True)  # type: ignore[arg-type]
    assert isinstance(stream, openai.Stream)
    chunks = list(stream)
    assert provider.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    assert len(chunks) == 3 and all(c.choices for c in chunks)
    (event,) = sent(sdk)
    assert (event["inputTokens"], event["outputTokens"], event["stream"]) == (19, 10, True)
    assert event["requestId"] == "req_stream" and "timeToFirstTokenMs" in event


def test_stream_with_callers_include_usage_shows_the_usage_chunk(
    sdk: FakeCollector, openai_client: openai.OpenAI
) -> None:
    client = llmledger.wrap(openai_client)
    with client.chat.completions.create(
        model="gpt-4o",
        messages=MSGS,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    assert len(chunks) == 4 and chunks[-1].usage is not None and not chunks[-1].choices
    assert sent(sdk)[0]["inputTokens"] == 19


def test_stream_without_usage_is_flagged(sdk: FakeCollector, openai_client: openai.OpenAI) -> None:
    stream = llmledger.wrap(openai_client).chat.completions.create(
        model="no-usage",
        messages=MSGS,  # type: ignore[arg-type]
        stream=True,
    )
    assert len(list(stream)) == 3
    (event,) = sent(sdk)
    assert event["metadata"] == {"usageMissing": True}
    assert (event["inputTokens"], event["outputTokens"], event["success"]) == (0, 0, True)


def test_stream_closed_early_and_abandoned_are_recorded(
    sdk: FakeCollector, openai_client: openai.OpenAI
) -> None:
    client = llmledger.wrap(openai_client)
    with client.chat.completions.create(model="gpt-4o", messages=MSGS, stream=True) as s:  # type: ignore[arg-type]
        next(iter(s))
    abandoned = client.chat.completions.create(model="gpt-4o", messages=MSGS, stream=True)  # type: ignore[arg-type]
    next(abandoned)
    abandoned.response.close()
    del abandoned
    gc.collect()
    events = sent(sdk)
    assert len(events) == 2
    assert all(e["metadata"] == {"usageMissing": True} for e in events)


def test_stream_dropped_mid_way_records_failure_and_reraises(
    sdk: FakeCollector, openai_client: openai.OpenAI
) -> None:
    stream = llmledger.wrap(openai_client).chat.completions.create(
        model="drop",
        messages=MSGS,  # type: ignore[arg-type]
        stream=True,
    )
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    (event,) = sent(sdk)
    assert event["success"] is False and event["errorType"] == "APIConnectionError"


@pytest.mark.parametrize(
    ("model", "exc_type", "status"),
    [("fail-429", openai.RateLimitError, 429), ("fail-500", openai.InternalServerError, 500)],
)
def test_api_errors_are_recorded_then_reraised_unchanged(
    sdk: FakeCollector,
    openai_client: openai.OpenAI,
    model: str,
    exc_type: type[Exception],
    status: int,
) -> None:
    with pytest.raises(exc_type) as raised:
        llmledger.wrap(openai_client).chat.completions.create(model=model, messages=MSGS)  # type: ignore[arg-type]
    assert raised.value.status_code == status  # type: ignore[attr-defined]
    (event,) = sent(sdk)
    assert (event["success"], event["statusCode"]) == (False, status)
    assert event["errorType"] == exc_type.__name__ and "latencyMs" in event


def test_sdk_retries_count_as_one_call(sdk: FakeCollector, provider: FakeProvider) -> None:
    client = openai.OpenAI(api_key="k", base_url=provider.url + "/v1", max_retries=2)
    try:
        with pytest.raises(openai.RateLimitError):
            llmledger.wrap(client).chat.completions.create(model="fail-429", messages=MSGS)  # type: ignore[arg-type]
    finally:
        client.close()
    assert len(sent(sdk)) == 1


def test_responses_plain_and_streaming(sdk: FakeCollector, openai_client: openai.OpenAI) -> None:
    client = llmledger.wrap(openai_client)
    result = client.responses.create(model="gpt-5", input="hi")
    assert result.output_text == "Hi"
    events = list(client.responses.create(model="gpt-5", input="hi", stream=True))
    assert [e.type for e in events][-1] == "response.completed"
    plain, streamed = sent(sdk)
    for event in (plain, streamed):
        assert (event["inputTokens"], event["cacheReadTokens"]) == (36, 12)
        assert (event["outputTokens"], event["reasoningTokens"]) == (87, 20)
    assert streamed["stream"] is True


def test_embeddings(sdk: FakeCollector, openai_client: openai.OpenAI) -> None:
    llmledger.wrap(openai_client).embeddings.create(model="text-embedding-3-small", input="x")
    (event,) = sent(sdk)
    assert (event["model"], event["inputTokens"], event["outputTokens"]) == (
        "text-embedding-3-small",
        8,
        0,
    )


def test_wrap_twice_is_harmless_and_unwrap_undoes(
    sdk: FakeCollector, openai_client: openai.OpenAI
) -> None:
    llmledger.wrap(openai_client, agent="a")
    llmledger.wrap(openai_client, agent="b")
    openai_client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
    llmledger.unwrap(openai_client)
    openai_client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
    (event,) = sent(sdk)
    assert event["agent"] == "b"


def test_provider_from_base_url() -> None:
    cases = {
        "https://api.openai.com/v1": "openai",
        "https://openrouter.ai/api/v1": "openrouter",
        "https://api.groq.com/openai/v1": "groq",
        "https://api.deepseek.com": "deepseek",
        "https://api.together.xyz/v1": "together",
        "http://127.0.0.1:9/v1": "openai",
    }
    for url, name in cases.items():
        client = openai.OpenAI(api_key="k", base_url=url)
        try:
            llmledger.wrap(client)
            settings = client.chat.completions.__dict__["create"]._llmledger_settings
            assert settings.provider == name, url
        finally:
            client.close()
    azure = openai.AzureOpenAI(
        api_key="k", api_version="2024-10-21", azure_endpoint="https://x.openai.azure.com"
    )
    try:
        llmledger.wrap(azure)
        assert azure.chat.completions.__dict__["create"]._llmledger_settings.provider == (
            "azure_openai"
        )
    finally:
        azure.close()


def test_async_client_plain_and_stream(sdk: FakeCollector, provider: FakeProvider) -> None:
    async def main() -> list[Any]:
        client = llmledger.wrap(
            openai.AsyncOpenAI(api_key="k", base_url=provider.url + "/v1", max_retries=0)
        )
        async with client:
            with llmledger.attribute(user_id="async-user"):
                await client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
                stream = await client.chat.completions.create(
                    model="gpt-4o",
                    messages=MSGS,  # type: ignore[arg-type]
                    stream=True,
                )
            assert isinstance(stream, openai.AsyncStream)
            return [c async for c in stream]

    chunks = asyncio.run(main())
    assert len(chunks) == 3
    plain, streamed = sent(sdk)
    assert plain["userId"] == streamed["userId"] == "async-user"
    assert streamed["stream"] is True and streamed["inputTokens"] == 19


def test_convenience_client(sdk: FakeCollector, provider: FakeProvider) -> None:
    client = llmledger.get_tracked_openai_client(
        agent_name="helper", api_key="k", base_url=provider.url + "/v1", user_id="u9"
    )
    try:
        client.chat.completions.create(model="gpt-4o", messages=MSGS)
    finally:
        client.close()
    (event,) = sent(sdk)
    assert (event["agent"], event["userId"]) == ("helper", "u9")


def test_internal_fault_is_swallowed_and_logged_once_in_production(
    sdk: FakeCollector,
    openai_client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from llmledger.capture import calls, guard

    def broken(client_attrs: object) -> dict[str, object]:
        raise RuntimeError("bug in llmledger")

    monkeypatch.setattr(calls, "attribution", broken)
    client = llmledger.wrap(openai_client)
    with pytest.raises(RuntimeError, match="bug in llmledger"):  # tests see our bugs
        client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
    monkeypatch.setattr(guard, "RAISE_FAULTS", False)
    monkeypatch.setattr(guard, "_seen", set())
    for _ in range(2):  # users never do
        result = client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
        assert result.choices[0].message.content == "Hello!"
    assert [r.getMessage() for r in caplog.records].count(
        "llmledger: internal error in openai.chat.completions (further ones are not logged)"
    ) == 1


def test_unreadable_usage_keeps_the_event(
    sdk: FakeCollector, openai_client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmledger import normalize

    def broken(usage: object) -> dict[str, object]:
        raise ValueError("a usage shape nobody expected")

    monkeypatch.setattr(normalize, "openai_chat", broken)
    llmledger.wrap(openai_client).chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
    (event,) = sent(sdk)
    assert event["metadata"] == {"usageUnreadable": True} and event["inputTokens"] == 0


def test_parse_and_stream_helpers(sdk: FakeCollector, openai_client: openai.OpenAI) -> None:
    client = llmledger.wrap(openai_client)
    client.chat.completions.parse(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]
    with client.chat.completions.stream(model="gpt-4o", messages=MSGS) as stream:  # type: ignore[arg-type]
        for _ in stream:
            pass
    client.responses.parse(model="gpt-5", input="hi")
    with client.responses.stream(model="gpt-5", input="hi") as rstream:
        rstream.get_final_response()
    events = sent(sdk)
    assert [(e["stream"], e["inputTokens"]) for e in events] == [
        (False, 19),
        (True, 19),
        (False, 36),
        (True, 36),
    ]


def test_openrouter_cost_flows_through_the_sdk(
    sdk: FakeCollector, openai_client: openai.OpenAI
) -> None:
    llmledger.wrap(openai_client, provider="openrouter").chat.completions.create(
        model="priced",
        messages=MSGS,  # type: ignore[arg-type]
    )
    (event,) = sent(sdk)
    assert (event["provider"], event["costUsd"]) == ("openrouter", "0.000425")


def test_azure_client(sdk: FakeCollector, provider: FakeProvider) -> None:
    client = openai.AzureOpenAI(
        api_key="k", api_version="2024-10-21", azure_endpoint=provider.url, max_retries=0
    )
    try:
        llmledger.wrap(client).chat.completions.create(model="my-deployment", messages=MSGS)  # type: ignore[arg-type]
    finally:
        client.close()
    assert provider.requests[-1]["path"].startswith("/openai/deployments/my-deployment/")
    (event,) = sent(sdk)
    assert event["provider"] == "azure_openai" and event["inputTokens"] == 19
