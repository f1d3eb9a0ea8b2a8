"""Capture fixtures: a scripted collector, a fast exporter config, the fake providers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmledger.capture import guard
from llmledger.capture.config import CaptureConfig
from tests.capture.fake_collector import FakeCollector
from tests.capture.fake_provider import FakeProvider


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Faults re-raise; nothing spools into the real home; no configuration leaks between tests."""
    import llmledger

    monkeypatch.setattr(guard, "RAISE_FAULTS", True)
    monkeypatch.setenv("LLMLEDGER_SPOOL_DIR", str(tmp_path / "env-spool"))
    for name in ("LLMLEDGER_URL", "LLMLEDGER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield
    llmledger.shutdown(timeout=2)


@pytest.fixture
def collector() -> Iterator[FakeCollector]:
    c = FakeCollector()
    yield c
    c.close()


@pytest.fixture
def fast_config(tmp_path: Path) -> CaptureConfig:
    """Short ages and backoffs so no test sleeps long."""
    return CaptureConfig(
        spool_dir=tmp_path / "spool",
        max_age=0.05,
        backoff_base=0.01,
        backoff_max=0.1,
        spool_retry_interval=0.1,
        timeout=2.0,
        exit_timeout=2.0,
    )


@pytest.fixture
def sdk(collector: FakeCollector, tmp_path: Path) -> Iterator[FakeCollector]:
    """The SDK configured to send to the scripted collector; shut down afterwards."""
    import llmledger

    llmledger.configure(
        collector.url,
        "test-key",
        spool_dir=tmp_path / "sdk-spool",
        max_age=0.02,
        backoff_base=0.01,
        backoff_max=0.1,
    )
    yield collector
    llmledger.shutdown()


def sent(collector: FakeCollector) -> list[dict[str, object]]:
    """Every event the collector has received, after flushing the SDK."""
    import llmledger

    assert llmledger.flush(5)
    return collector.events


@pytest.fixture(scope="session")
def provider() -> Iterator[FakeProvider]:
    p = FakeProvider()
    yield p
    p.close()


@pytest.fixture
def openai_client(provider: FakeProvider) -> Iterator[Any]:
    import openai

    client = openai.OpenAI(api_key="sk-test", base_url=provider.url + "/v1", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def anthropic_client(provider: FakeProvider) -> Iterator[Any]:
    import anthropic

    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=provider.url, max_retries=0)
    yield client
    client.close()
