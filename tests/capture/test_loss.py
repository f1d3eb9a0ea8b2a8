"""No lost events: tracked calls while the real collector goes down and comes back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

import llmledger
from llmledger.capture import state
from llmledger.ledger import Ledger
from tests.capture.fake_provider import FakeProvider
from tests.support.live import LiveServer

CALLS = 60


@pytest.fixture
def tracked(
    ledger: Ledger, live_server: LiveServer, provider: FakeProvider, tmp_path: Path
) -> Iterator[openai.OpenAI]:
    # ``ledger`` first: it empties PostgreSQL before the live server starts
    llmledger.configure(
        live_server.url,
        live_server.ingest_key("acme"),
        spool_dir=tmp_path / "spool",
        batch_size=7,
        max_age=0.02,
        max_retries=1,
        backoff_base=0.01,
        backoff_max=0.05,
        spool_retry_interval=0.05,
    )
    client = openai.OpenAI(api_key="k", base_url=provider.url + "/v1", max_retries=0)
    yield llmledger.wrap(client, agent="loss-test")
    client.close()
    llmledger.shutdown()


def test_collector_outage_loses_nothing(tracked: openai.OpenAI, live_server: LiveServer) -> None:
    for i in range(CALLS):
        if i == CALLS // 3:
            llmledger.flush(5)
            live_server.stop()
        if i == 2 * CALLS // 3:
            live_server.start()
        if i % 2:
            tracked.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "x"}]
            )
        else:
            stream = tracked.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
            )
            for _ in stream:
                pass
    assert llmledger.flush(10)
    exporter = state.exporter()
    assert exporter is not None and exporter.spooled_batches > 0  # the outage was felt
    # spooled batches go out on their own once the collector answers again
    deadline = time.monotonic() + 60
    while live_server.event_count() < CALLS and time.monotonic() < deadline:
        time.sleep(0.05)
    totals = live_server.totals()
    assert totals["events"] == CALLS
    assert (totals["input_tokens"], totals["output_tokens"]) == (19 * CALLS, 10 * CALLS)
