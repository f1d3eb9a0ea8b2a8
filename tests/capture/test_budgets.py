"""``enforce_budgets=True``: the real openai and anthropic SDKs, wrapped, refuse a call over a
blocking budget before the provider sees it (sync, async, streams); the state is cached and
refreshed off the caller's path; a collector that cannot be reached fails open, or closed with
``fail_closed=True``. The collector here is scripted (``FakeBudgets``); the clock is injected."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

import llmledger
from llmledger.capture import state
from llmledger.capture.budgets import Budgets, Verdict
from tests.capture.fake_budgets import BLOCKED, OK, FakeBudgets
from tests.capture.fake_provider import FakeProvider
from tests.support.live import free_port

MSGS: Any = [{"role": "user", "content": "hi"}]
SCOPE = ("acme", "support", "u1", "openai", "gpt-4o")
UNREAD = Verdict(error="not read yet")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


@pytest.fixture
def budgets_server() -> Iterator[FakeBudgets]:
    server = FakeBudgets()
    yield server
    server.close()


def enforce(url: str, tmp_path: Path, **options: Any) -> tuple[Budgets, Clock]:
    llmledger.configure(
        url,
        "sk-ingest",
        enforce_budgets=True,
        spool_dir=tmp_path / "spool",
        max_age=0.02,
        **options,
    )
    guard = state.budgets()
    assert guard is not None
    clock = Clock()
    guard.clock = clock
    return guard, clock


_made: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _made:
        _made.pop().close()


def openai_client(provider: FakeProvider, *, is_async: bool = False) -> Any:
    """A wrapped client (a sync one is closed after the test; use async ones in ``async with``)."""
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    client = cls(api_key="sk-test", base_url=provider.url + "/v1", max_retries=0)
    if not is_async:
        _made.append(client)
    return llmledger.wrap(client, agent="support", provider="openai")


def anthropic_client(provider: FakeProvider, *, is_async: bool = False) -> Any:
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    client = cls(api_key="sk-ant-test", base_url=provider.url, max_retries=0)
    if not is_async:
        _made.append(client)
    return llmledger.wrap(client, agent="support", provider="anthropic")


@contextlib.contextmanager
def every_kind_of_call(provider: FakeProvider) -> Iterator[dict[str, Callable[[], object]]]:
    """One call of each tracked kind, sync and async, plain and streamed."""
    oa, an = openai_client(provider), anthropic_client(provider)

    def openai_stream() -> object:
        return list(oa.chat.completions.create(model="gpt-4o", messages=MSGS, stream=True))

    def openai_stream_helper() -> object:
        with oa.chat.completions.stream(model="gpt-4o", messages=MSGS) as stream:
            return list(stream)

    def anthropic_stream_helper() -> object:
        with an.messages.stream(model="claude-fake-1", max_tokens=5, messages=MSGS) as stream:
            return list(stream)

    async def async_openai() -> object:
        async with openai_client(provider, is_async=True) as aoa:
            await aoa.chat.completions.create(model="gpt-4o", messages=MSGS)
            stream = await aoa.chat.completions.create(model="gpt-4o", messages=MSGS, stream=True)
            return [c async for c in stream]

    async def async_anthropic() -> object:
        async with anthropic_client(provider, is_async=True) as aan:
            await aan.messages.create(model="claude-fake-1", max_tokens=5, messages=MSGS)
            async with aan.messages.stream(
                model="claude-fake-1", max_tokens=5, messages=MSGS
            ) as stream:
                return [e async for e in stream]

    yield {
        "openai create": lambda: oa.chat.completions.create(model="gpt-4o", messages=MSGS),
        "openai stream=True": openai_stream,
        "openai chat.completions.stream": openai_stream_helper,
        "openai responses": lambda: oa.responses.create(model="gpt-4o", input="hi"),
        "anthropic create": lambda: an.messages.create(
            model="claude-fake-1", max_tokens=5, messages=MSGS
        ),
        "anthropic stream=True": lambda: list(
            an.messages.create(model="claude-fake-1", max_tokens=5, messages=MSGS, stream=True)
        ),
        "anthropic messages.stream": anthropic_stream_helper,
        "async openai": lambda: asyncio.run(async_openai()),
        "async anthropic": lambda: asyncio.run(async_anthropic()),
    }


def test_a_blocked_call_never_reaches_the_provider(
    budgets_server: FakeBudgets, provider: FakeProvider, tmp_path: Path
) -> None:
    budgets_server.answer = BLOCKED
    enforce(budgets_server.url, tmp_path)
    before = len(provider.requests)
    with every_kind_of_call(provider) as calls:
        for name, call in calls.items():
            # a scope of its own per kind, so each first (cold) read is checked, async too
            with (
                llmledger.attribute(org_id="acme", user_id=name),
                pytest.raises(llmledger.BudgetExceeded) as refused,
            ):
                call()
            check_refusal(refused.value, name)
            assert len(provider.requests) == before, f"{name} reached the provider"
    assert llmledger.flush(10)
    assert budgets_server.events == []  # a refused call cost nothing and is not recorded


def check_refusal(exc: llmledger.BudgetExceeded, name: str) -> None:
    assert not isinstance(exc, llmledger.BudgetUnavailable)
    assert (exc.rule_id, exc.rule_name, exc.alert_type) == (7, "Acme daily", "daily_limit")
    assert (exc.value, exc.threshold, exc.unit, exc.percent_used) == (60.0, 50.0, "usd", 120.0)
    assert (exc.period, exc.period_start, exc.timezone) == (
        "2026-12-07",
        "2026-12-07T00:00:00Z",
        "UTC",
    )
    assert exc.scope["orgId"] == "acme" and exc.scope["userId"] == name
    assert "CRITICAL: Acme daily: $60.00 of $50.00" in str(exc), name


def test_a_call_within_budget_goes_ahead_and_says_its_scope(
    budgets_server: FakeBudgets, provider: FakeProvider, tmp_path: Path
) -> None:
    enforce(budgets_server.url, tmp_path)
    before = len(provider.requests)
    with every_kind_of_call(provider) as calls, llmledger.attribute(org_id="acme", user_id="u1"):
        for call in calls.values():
            call()
    # async calls make two requests each
    assert len(provider.requests) == before + len(calls) + 2
    assert llmledger.flush(10)
    assert len(budgets_server.events) == len(calls) + 2
    asked = {tuple(sorted(q.items())) for q in budgets_server.queries}
    assert (
        ("agent", "support"),
        ("auth", "Bearer sk-ingest"),
        ("model", "gpt-4o"),
        ("orgId", "acme"),
        ("provider", "openai"),
        ("userId", "u1"),
    ) in asked
    # one read per scope: the openai calls of gpt-4o share one, anthropic's model another
    assert len(budgets_server.queries) == 2


def test_without_enforce_budgets_nothing_is_asked(
    budgets_server: FakeBudgets, provider: FakeProvider, tmp_path: Path
) -> None:
    budgets_server.answer = BLOCKED
    llmledger.configure(budgets_server.url, "k", spool_dir=tmp_path / "spool")
    assert state.budgets() is None
    openai_client(provider).chat.completions.create(model="gpt-4o", messages=MSGS)
    assert budgets_server.queries == []


def test_the_state_is_cached_and_refreshed_off_the_callers_path(
    budgets_server: FakeBudgets, provider: FakeProvider, tmp_path: Path
) -> None:
    guard, clock = enforce(budgets_server.url, tmp_path, budget_cache_seconds=5)
    client = openai_client(provider)

    def call() -> object:
        with llmledger.attribute(org_id="acme", user_id="u1"):
            return client.chat.completions.create(model="gpt-4o", messages=MSGS)

    call()  # the first call of the scope reads its state
    assert len(budgets_server.queries) == 1
    budgets_server.answer = BLOCKED
    clock.now += 4.9
    call()  # fresh: no read
    assert len(budgets_server.queries) == 1 and guard.reads == 1
    # stale: the call goes ahead with what is known while a refresh runs beside it; the
    # collector holds that refresh, and the call still returns
    budgets_server.hold = threading.Event()
    clock.now += 0.2
    call()
    assert budgets_server.held.wait(60), "no refresh was asked for"
    assert not budgets_server.hold.is_set() and budgets_server.queries == [
        budgets_server.queries[0]
    ]  # the held refresh has not been answered: the call did not wait for it
    call()  # one refresh at a time per scope
    assert guard.reads == 2
    budgets_server.hold.set()
    wait_for(lambda: (guard.state_of(SCOPE) or Verdict()).blocked, "the refresh lands")
    before = len(provider.requests)
    with pytest.raises(llmledger.BudgetExceeded):
        call()
    assert len(provider.requests) == before
    # another scope has a state of its own
    with llmledger.attribute(org_id="acme", user_id="u2"):
        budgets_server.answer = OK
        client.chat.completions.create(model="gpt-4o", messages=MSGS)
    assert guard.reads == 3 and budgets_server.queries[-1]["userId"] == "u2"


def test_an_unreachable_collector_fails_open(
    provider: FakeProvider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    guard, _ = enforce(f"http://127.0.0.1:{free_port()}", tmp_path)
    before = len(provider.requests)
    client = openai_client(provider)
    with caplog.at_level(logging.WARNING, logger="llmledger"):
        client.chat.completions.create(model="gpt-4o", messages=MSGS)
        client.chat.completions.create(model="gpt-4o", messages=MSGS)
    assert len(provider.requests) == before + 2
    assert guard.reads == 1  # the failure is cached too: one wait per scope, not per call
    assert "budget state unavailable" in caplog.text and "go ahead unchecked" in caplog.text


def test_a_failing_collector_fails_open(
    budgets_server: FakeBudgets, provider: FakeProvider, tmp_path: Path
) -> None:
    budgets_server.status = 503
    enforce(budgets_server.url, tmp_path)
    before = len(provider.requests)
    openai_client(provider).chat.completions.create(model="gpt-4o", messages=MSGS)
    assert len(provider.requests) == before + 1


async def async_anthropic_call(provider: FakeProvider) -> object:
    async with anthropic_client(provider, is_async=True) as client:
        return await client.messages.create(model="claude-fake-1", max_tokens=5, messages=MSGS)


def test_fail_closed_refuses_when_the_collector_cannot_be_reached(
    provider: FakeProvider, tmp_path: Path
) -> None:
    enforce(f"http://127.0.0.1:{free_port()}", tmp_path, fail_closed=True)
    before = len(provider.requests)
    for call in (
        lambda: openai_client(provider).chat.completions.create(model="gpt-4o", messages=MSGS),
        lambda: asyncio.run(async_anthropic_call(provider)),
    ):
        with pytest.raises(llmledger.BudgetUnavailable) as refused:
            call()
        assert isinstance(refused.value, llmledger.BudgetExceeded)
        assert "budget state unavailable" in str(refused.value)
        assert refused.value.rule_id is None and refused.value.reason
        again = pickle.loads(pickle.dumps(refused.value))
        assert (type(again), again.reason) == (llmledger.BudgetUnavailable, refused.value.reason)
    assert len(provider.requests) == before


def test_fail_closed_lets_calls_through_once_the_collector_answers(
    budgets_server: FakeBudgets, provider: FakeProvider, tmp_path: Path
) -> None:
    budgets_server.status = 502
    guard, clock = enforce(budgets_server.url, tmp_path, fail_closed=True)
    client = openai_client(provider)
    with pytest.raises(llmledger.BudgetUnavailable):
        client.chat.completions.create(model="gpt-4o", messages=MSGS)
    budgets_server.status = 200
    clock.now += 5
    with pytest.raises(llmledger.BudgetUnavailable):  # stale: refused by what was known
        client.chat.completions.create(model="gpt-4o", messages=MSGS)
    scope = (None, "support", None, "openai", "gpt-4o")
    wait_for(lambda: (guard.state_of(scope) or UNREAD).error is None, "the refresh")
    before = len(provider.requests)
    client.chat.completions.create(model="gpt-4o", messages=MSGS)
    assert len(provider.requests) == before + 1
