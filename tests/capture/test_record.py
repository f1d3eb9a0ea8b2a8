"""Manual capture, attribution and configuration through the public surface."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from decimal import Decimal

import pytest

import llmledger
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.capture.conftest import sent
from tests.capture.fake_collector import FakeCollector
from tests.support.live import LiveServer


def test_record_sends_camel_case_event(sdk: FakeCollector) -> None:
    eid = llmledger.record(
        provider="openai",
        model="gpt-4o",
        input_tokens=100,
        output_tokens=20,
        cache_read_tokens=40,
        cost_usd=Decimal("0.0125"),
        latency_ms=12,
        user_id="u1",
        metadata={"a": 1},
    )
    (event,) = sent(sdk)
    assert event["eventId"] == eid
    assert event["inputTokens"] == 100 and event["cacheReadTokens"] == 40
    assert event["costUsd"] == "0.0125" and event["latencyMs"] == 12
    assert event["userId"] == "u1" and event["metadata"] == {"a": 1}
    assert event["timestamp"].endswith("+00:00")


def test_record_rejects_unknown_keywords(sdk: FakeCollector) -> None:
    with pytest.raises(TypeError, match="usr_id"):
        llmledger.record(provider="openai", model="m", usr_id="x")


def test_attribution_nests_and_merges(sdk: FakeCollector) -> None:
    with llmledger.attribute(org_id="acme", user_id="u1", metadata={"a": 1}):
        with llmledger.attribute(user_id="u2", operation="summarize", metadata={"b": 2}):
            llmledger.record(provider="p", model="m")
        llmledger.record(provider="p", model="m", operation="explicit")
    llmledger.record(provider="p", model="m")
    inner, outer, none = sent(sdk)
    assert (inner["orgId"], inner["userId"], inner["operation"]) == ("acme", "u2", "summarize")
    assert inner["metadata"] == {"a": 1, "b": 2}
    assert (outer["userId"], outer["operation"]) == ("u1", "explicit")
    assert "orgId" not in none and "userId" not in none


def test_attribute_as_decorator_sync_and_async(sdk: FakeCollector) -> None:
    @llmledger.attribute(session_id="s-sync")
    def sync_call() -> None:
        llmledger.record(provider="p", model="m")

    @llmledger.attribute(session_id="s-async")
    async def async_call(n: int) -> None:
        await asyncio.sleep(0)
        llmledger.record(provider="p", model="m", operation=f"t{n}")

    async def main() -> None:
        with llmledger.attribute(user_id="task-user"):
            await asyncio.gather(*(asyncio.create_task(async_call(n)) for n in range(3)))

    sync_call()
    asyncio.run(main())
    events = sent(sdk)
    assert events[0]["sessionId"] == "s-sync"
    assert {(e["sessionId"], e["userId"]) for e in events[1:]} == {("s-async", "task-user")}
    assert sorted(e["operation"] for e in events[1:]) == ["t0", "t1", "t2"]


def test_bind_carries_attribution_into_threads(sdk: FakeCollector) -> None:
    def work() -> None:
        llmledger.record(provider="p", model="m")

    with llmledger.attribute(user_id="u-thread"):
        bound = llmledger.bind(work)
        plain = threading.Thread(target=work)
        carried = threading.Thread(target=bound)
    for t in (plain, carried):
        t.start()
        t.join()
    users = sorted(str(e.get("userId")) for e in sent(sdk))
    assert users == ["None", "u-thread"]


def test_configure_defaults_have_lowest_precedence(
    collector: FakeCollector, tmp_path: object
) -> None:
    llmledger.configure(collector.url, attribution={"org_id": "dflt", "tier": "free"}, max_age=0.02)
    try:
        with llmledger.attribute(tier="pro"):
            llmledger.record(provider="p", model="m")
        (event,) = sent(collector)
        assert (event["orgId"], event["tier"]) == ("dflt", "pro")
    finally:
        llmledger.shutdown()


def test_environment_configuration(
    collector: FakeCollector, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("LLMLEDGER_URL", collector.url)
    monkeypatch.setenv("LLMLEDGER_API_KEY", "env-key")
    config = llmledger.configure(max_age=0.02)
    try:
        assert config.endpoint == collector.url + "/api/v1/events"
        llmledger.record(provider="p", model="m")
        sent(collector)
        assert collector.requests[0]["headers"]["Authorization"] == "Bearer env-key"
    finally:
        llmledger.shutdown()


def test_direct_mode_writes_into_the_database(ledger: Ledger, settings: Settings) -> None:
    url = settings.resolved_database_url  # ``ledger`` resets PostgreSQL first
    llmledger.configure(database_url=url, max_age=0.02)
    try:
        for i in range(3):
            llmledger.record(provider="openai", model="gpt-4o", input_tokens=10 + i, org_id="acme")
        assert llmledger.flush(20)
    finally:
        llmledger.shutdown()
    totals = LiveServer(settings).totals()
    assert (totals["events"], totals["input_tokens"]) == (3, 33)


def test_an_event_json_cannot_hold_is_refused_alone(
    ledger: Ledger, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = settings.resolved_database_url
    llmledger.configure(database_url=url, max_age=0.02)
    try:
        with caplog.at_level("WARNING", logger="llmledger"):
            big = llmledger.record(provider="openai", model="gpt-4o", metadata={"n": 2**70})
            edge = llmledger.record(provider="openai", model="gpt-4o", metadata={"n": 2**63})
            llmledger.record(provider="openai", model="gpt-4o", input_tokens=7)
            assert llmledger.flush(20)
    finally:
        llmledger.shutdown()
    totals = LiveServer(settings).totals()
    assert (totals["events"], totals["input_tokens"]) == (1, 7)
    assert f"event {big} is not sent" in caplog.text
    assert edge is not None  # encodable, so the contract refused it (outside signed 64 bits)


def test_import_is_light() -> None:
    code = (
        "import sys, llmledger; "
        "heavy = [m for m in ('pydantic', 'fastapi', 'sqlalchemy', 'openai', 'anthropic') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_public_surface_is_guarded() -> None:
    public = {n for n in vars(llmledger) if not n.startswith("_") and n != "annotations"}
    assert set(llmledger.__all__) - {"__version__"} <= public
    assert all(hasattr(llmledger, n) for n in llmledger.__all__)


def test_events_are_flushed_at_interpreter_exit(collector: FakeCollector, tmp_path: object) -> None:
    code = (
        "import llmledger\n"
        f"llmledger.configure({collector.url!r}, 'k', max_age=30, spool_dir={str(tmp_path)!r})\n"
        "llmledger.record(provider='openai', model='gpt-4o', input_tokens=7)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert [e["inputTokens"] for e in collector.events] == [7]
