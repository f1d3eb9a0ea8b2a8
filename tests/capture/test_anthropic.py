"""The real ``anthropic`` SDK, wrapped, against the fake provider."""

from __future__ import annotations

import asyncio

import anthropic
import pytest

import llmledger
from tests.capture.conftest import sent
from tests.capture.fake_collector import FakeCollector
from tests.capture.fake_provider import FakeProvider

MSGS = [{"role": "user", "content": "hi"}]
# input 2095 + cache writes 2051 + cache reads 2051
ALL_INPUT = 2095 + 2051 + 2051


def expect_usage(event: dict[str, object]) -> None:
    assert event["provider"] == "anthropic" and event["model"] == "claude-fake-1"
    assert (event["inputTokens"], event["outputTokens"]) == (ALL_INPUT, 503)
    assert (event["cacheReadTokens"], event["cacheWrite5mTokens"]) == (2051, 2051)


def test_messages_create(sdk: FakeCollector, anthropic_client: anthropic.Anthropic) -> None:
    client = llmledger.wrap(anthropic_client, agent="CIA", provider="anthropic")
    message = client.messages.create(model="claude-fake-1", max_tokens=10, messages=MSGS)  # type: ignore[arg-type]
    assert isinstance(message, anthropic.types.Message)
    (event,) = sent(sdk)
    expect_usage(event)
    assert event["stream"] is False and event["agent"] == "CIA"
    assert event["requestId"] == "req_fake"


def test_messages_create_stream(sdk: FakeCollector, anthropic_client: anthropic.Anthropic) -> None:
    client = llmledger.wrap(anthropic_client, provider="anthropic")
    stream = client.messages.create(
        model="claude-fake-1",
        max_tokens=10,
        messages=MSGS,  # type: ignore[arg-type]
        stream=True,
    )
    assert isinstance(stream, anthropic.Stream)
    kinds = [e.type for e in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    (event,) = sent(sdk)
    expect_usage(event)
    assert event["stream"] is True and "timeToFirstTokenMs" in event


def test_messages_stream_helper(sdk: FakeCollector, anthropic_client: anthropic.Anthropic) -> None:
    client = llmledger.wrap(anthropic_client, provider="anthropic")
    with llmledger.attribute(user_id="u1"):
        manager = client.messages.stream(
            model="claude-fake-1",
            max_tokens=10,
            messages=MSGS,  # type: ignore[arg-type]
        )
    with manager as stream:
        assert "".join(stream.text_stream) == "Hello!"
        final = stream.get_final_message()
    assert final.usage.output_tokens == 503
    (event,) = sent(sdk)
    expect_usage(event)
    assert event["userId"] == "u1" and event["requestId"] == "req_stream"


def test_dropped_stream_keeps_input_tokens(
    sdk: FakeCollector, anthropic_client: anthropic.Anthropic
) -> None:
    stream = llmledger.wrap(anthropic_client).messages.create(
        model="drop",
        max_tokens=10,
        messages=MSGS,  # type: ignore[arg-type]
        stream=True,
    )
    with pytest.raises(Exception) as raised:  # the SDK lets the transport's error through
        list(stream)
    (event,) = sent(sdk)
    assert event["success"] is False and event["errorType"] == type(raised.value).__name__
    assert event["inputTokens"] == ALL_INPUT and event["outputTokens"] == 1


@pytest.mark.parametrize(
    ("model", "exc_type", "status"),
    [("fail-429", anthropic.RateLimitError, 429), ("fail-500", anthropic.InternalServerError, 500)],
)
def test_errors_recorded_and_reraised(
    sdk: FakeCollector,
    anthropic_client: anthropic.Anthropic,
    model: str,
    exc_type: type[Exception],
    status: int,
) -> None:
    client = llmledger.wrap(anthropic_client)
    with pytest.raises(exc_type):
        client.messages.create(model=model, max_tokens=10, messages=MSGS)  # type: ignore[arg-type]
    with pytest.raises(exc_type), client.messages.stream(model=model, max_tokens=10, messages=MSGS):  # type: ignore[arg-type]
        pass
    events = sent(sdk)
    assert [(e["success"], e["statusCode"], e["errorType"]) for e in events] == [
        (False, status, exc_type.__name__)
    ] * 2


def test_async_client_and_stream_helper(sdk: FakeCollector, provider: FakeProvider) -> None:
    async def main() -> str:
        client = llmledger.get_tracked_anthropic_client(
            agent_name="bot", api_key="k", is_async=True, base_url=provider.url, max_retries=0
        )
        async with client:
            await client.messages.create(model="claude-fake-1", max_tokens=5, messages=MSGS)
            async with client.messages.stream(
                model="claude-fake-1", max_tokens=5, messages=MSGS
            ) as stream:
                text = "".join([t async for t in stream.text_stream])
        return text

    assert asyncio.run(main()) == "Hello!"
    plain, streamed = sent(sdk)
    expect_usage(plain)
    expect_usage(streamed)
    assert streamed["agent"] == "bot" and streamed["stream"] is True


def test_unwrap(sdk: FakeCollector, anthropic_client: anthropic.Anthropic) -> None:
    client = llmledger.unwrap(llmledger.wrap(anthropic_client))
    client.messages.create(model="claude-fake-1", max_tokens=10, messages=MSGS)  # type: ignore[arg-type]
    with client.messages.stream(model="claude-fake-1", max_tokens=10, messages=MSGS) as s:  # type: ignore[arg-type]
        s.get_final_message()
    assert sent(sdk) == []


def test_async_raw_stream_and_early_close(sdk: FakeCollector, provider: FakeProvider) -> None:
    async def main() -> None:
        client = llmledger.wrap(
            anthropic.AsyncAnthropic(api_key="k", base_url=provider.url, max_retries=0)
        )
        async with client:
            stream = await client.messages.create(
                model="claude-fake-1",
                max_tokens=5,
                messages=MSGS,  # type: ignore[arg-type]
                stream=True,
            )
            assert isinstance(stream, anthropic.AsyncStream)
            kinds = [e.type async for e in stream]
            assert kinds[-1] == "message_stop"
            early = await client.messages.create(
                model="claude-fake-1",
                max_tokens=5,
                messages=MSGS,  # type: ignore[arg-type]
                stream=True,
            )
            first = await early.__anext__()
            assert first.type == "message_start"
            await early.close()

    asyncio.run(main())
    full, early = sent(sdk)
    expect_usage(full)
    # closed after message_start: the input side is known, the output is what was seen so far
    assert early["inputTokens"] == ALL_INPUT and early["outputTokens"] == 1
    assert early["success"] is True
