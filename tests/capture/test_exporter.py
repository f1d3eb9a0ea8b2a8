"""The exporter over a scripted collector and over the real server."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from llmledger.capture.config import CaptureConfig
from llmledger.capture.exporter import Exporter
from llmledger.capture.spool import Spool
from llmledger.capture.transport import HttpSender, decode, retry_after_seconds
from tests.capture.fake_collector import FakeCollector


def event(i: int = 0, **extra: object) -> dict[str, object]:
    return {
        "timestamp": time.time(),
        "provider": "openai",
        "model": "gpt-4o",
        "inputTokens": 10 + i,
        "outputTokens": 5,
        **extra,
    }


def make(cfg: CaptureConfig, url: str, key: str | None = "k", **changes: object) -> Exporter:
    cfg = dataclasses.replace(cfg, url=url, api_key=key, **changes)  # type: ignore[arg-type]
    assert cfg.endpoint is not None
    return Exporter(cfg, HttpSender(cfg.endpoint, cfg.api_key, cfg.timeout))


def test_batch_is_gzipped_authorised_and_finalised(
    collector: FakeCollector, fast_config: CaptureConfig
) -> None:
    exp = make(fast_config, collector.url, key="secret")
    for i in range(3):
        exp.submit(event(i))
    assert exp.flush(5)
    exp.close()
    (req,) = collector.requests
    assert req["headers"]["Content-Encoding"] == "gzip"
    assert req["headers"]["Authorization"] == "Bearer secret"
    events = req["body"]["events"]
    assert [e["inputTokens"] for e in events] == [10, 11, 12]
    assert all(len(e["eventId"]) == 36 and e["timestamp"].endswith("+00:00") for e in events)


def test_batches_by_size(collector: FakeCollector, fast_config: CaptureConfig) -> None:
    exp = make(fast_config, collector.url, batch_size=4, max_age=30.0)
    for i in range(8):
        exp.submit(event(i))
    deadline = time.monotonic() + 60
    while len(collector.events) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [len(r["body"]["events"]) for r in collector.requests] == [4, 4]
    exp.close()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_then_delivers_same_ids(status: int, fast_config: CaptureConfig) -> None:
    c = FakeCollector([(status, {"Retry-After": "0"}), (status, {})])
    try:
        exp = make(fast_config, c.url)
        exp.submit(event())
        assert exp.flush(5)
        exp.close()
        assert len(c.requests) == 3
        ids = {r["body"]["events"][0]["eventId"] for r in c.requests}
        assert len(ids) == 1
        assert not Spool(fast_config.spool_dir, 10**6).pending()
    finally:
        c.close()


def test_client_error_is_dead_lettered(fast_config: CaptureConfig) -> None:
    c = FakeCollector([(401, {})])
    try:
        exp = make(fast_config, c.url)
        exp.submit(event())
        assert exp.flush(5)
        exp.close()
        assert len(c.requests) == 1
        dead = list((fast_config.spool_dir / "dead").glob("*.json.gz"))
        assert len(dead) == 1 and exp.dead_batches == 1
        assert decode(dead[0].read_bytes())[0]["model"] == "gpt-4o"
        assert not Spool(fast_config.spool_dir, 10**6).pending()
    finally:
        c.close()


def test_rejected_events_are_dead_lettered(fast_config: CaptureConfig) -> None:
    c = FakeCollector([(200, {"reject": "1"})])
    try:
        exp = make(fast_config, c.url)
        exp.submit(event(0))
        exp.submit(event(1))
        assert exp.flush(5)
        exp.close()
        (dead,) = (fast_config.spool_dir / "dead").glob("*.json.gz")
        assert [e["inputTokens"] for e in decode(dead.read_bytes())] == [10]
    finally:
        c.close()


def test_unreachable_collector_spools_and_next_start_resends(
    collector: FakeCollector, fast_config: CaptureConfig, caplog: pytest.LogCaptureFixture
) -> None:
    down = FakeCollector()
    down.close()  # nothing listens on this port any more
    exp = make(fast_config, down.url, max_retries=1)
    for i in range(3):
        exp.submit(event(i))
    assert not exp.flush(60)  # spooled, not delivered
    assert "3 events could only be spooled" in caplog.text
    exp.close()
    assert len(Spool(fast_config.spool_dir, 10**6).pending()) == 1
    assert not collector.requests

    again = make(fast_config, collector.url)
    again.submit(event(3))
    assert again.flush(5)
    deadline = time.monotonic() + 60
    while len(collector.events) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    again.close()
    assert sorted(e["inputTokens"] for e in collector.events) == [10, 11, 12, 13]
    assert not Spool(fast_config.spool_dir, 10**6).pending()


def test_full_queue_spills_to_spool(fast_config: CaptureConfig) -> None:
    down = FakeCollector()
    down.close()
    exp = make(fast_config, down.url, queue_size=10, batch_size=5, max_age=30.0, max_retries=0)
    exp._start = lambda: None  # type: ignore[method-assign]  # keep the thread from draining
    for i in range(25):
        exp.submit(event(i))
    assert len(exp._queue) <= 10
    spooled = Spool(fast_config.spool_dir, 10**6).pending()
    assert sum(len(decode(p.read_bytes())) for p in spooled) + len(exp._queue) == 25


def test_spool_cap_drops_and_counts(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    assert spool.put(b"x" * 60, 3)
    assert not spool.put(b"x" * 60, 4)
    assert (spool.dropped_batches, spool.dropped_events) == (1, 4)
    assert len(spool.pending()) == 1


def test_retry_after_forms() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_child_after_fork_starts_empty(
    collector: FakeCollector, fast_config: CaptureConfig
) -> None:
    exp = make(fast_config, collector.url, max_age=30.0)
    exp.submit(event())
    pid = os.fork()
    if pid == 0:  # child: a fresh, thread-less exporter with an empty queue
        ok = exp._thread is None and not exp._queue
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    exp.close()
    assert len(collector.events) == 1


def test_too_large_batch_is_split(fast_config: CaptureConfig) -> None:
    c = FakeCollector([(413, {})])
    try:
        exp = make(fast_config, c.url, max_age=30.0)
        for i in range(4):
            exp.submit(event(i))
        assert exp.flush(5)
        exp.close()
        assert [len(r["body"]["events"]) for r in c.requests] == [4, 2, 2]
        assert sorted(e["inputTokens"] for r in c.requests[1:] for e in r["body"]["events"]) == [
            10,
            11,
            12,
            13,
        ]
        assert not (fast_config.spool_dir / "dead").exists()
    finally:
        c.close()
