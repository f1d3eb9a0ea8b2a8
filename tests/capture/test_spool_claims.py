"""Processes sharing one spool: each batch is claimed before it is sent, so none is sent twice,
and a claim whose holder died is taken over, so none is lost."""

from __future__ import annotations

import collections
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmledger.capture import spool as spool_module
from llmledger.capture.config import CaptureConfig
from llmledger.capture.exporter import Exporter
from llmledger.capture.spool import Spool
from llmledger.capture.transport import HttpSender, encode
from tests.capture.fake_collector import FakeCollector
from tests.capture.sdk_process import sdk_env, spool_files, start_sdk

BATCHES = 60
PER_BATCH = 5

FLUSH_ON_CUE = """
import sys, llmledger
sys.stdin.readline()
llmledger.configure()
print(llmledger.flush(timeout=30))
"""


def fill(directory: Path, batches: int = BATCHES) -> set[str]:
    """Spool ``batches`` batches as an earlier process would have; their event ids."""
    spool, ids = Spool(directory, 10**8), set()
    for b in range(batches):
        events = [
            {
                "eventId": f"00000000-0000-7000-8000-{b:06d}{i:06d}",
                "timestamp": "2026-01-01T00:00:00+00:00",
                "provider": "openai",
                "model": "gpt-4o",
                "inputTokens": 1,
            }
            for i in range(PER_BATCH)
        ]
        assert spool.put(encode(events), len(events))
        ids.update(e["eventId"] for e in events)
    return ids


def received(collector: FakeCollector) -> collections.Counter[str]:
    return collections.Counter(e["eventId"] for e in collector.events)


def test_processes_sharing_a_spool_send_each_batch_once(
    collector: FakeCollector, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    ids = fill(spool)
    env = sdk_env(collector.url, "k", spool)
    jobs = [start_sdk(FLUSH_ON_CUE, env) for _ in range(3)]
    for job in jobs:  # all started and waiting: now they go for the same files at once
        assert job.stdin is not None
        job.stdin.write("go\n")
        job.stdin.flush()
    for job in jobs:
        out, err = job.communicate(timeout=120)
        assert (job.returncode, out.strip()) == (0, "True"), err
    counts = received(collector)
    assert set(counts) == ids
    assert max(counts.values()) == 1  # no batch was sent twice
    assert spool_files(spool) == []


@pytest.fixture
def silent_collector() -> Iterator[str]:
    """A collector that accepts connections and never answers: a send hangs there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def test_a_batch_claimed_by_a_process_that_died_is_delivered_by_the_next(
    collector: FakeCollector, silent_collector: str, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    ids = fill(spool, batches=3)
    stuck = start_sdk(
        "import sys, llmledger\nllmledger.configure(timeout=120)\nsys.stdin.read()\n",
        sdk_env(silent_collector, "k", spool),
    )
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".claimed") for p in spool_files(spool)):
            assert time.monotonic() < deadline, "the first process never claimed a batch"
            time.sleep(0.05)
    finally:
        stuck.send_signal(signal.SIGKILL)  # dies holding the claim, mid-send
        stuck.communicate(timeout=30)
    assert any(p.name.endswith(".claimed") for p in spool_files(spool))
    nxt = start_sdk(FLUSH_ON_CUE, sdk_env(collector.url, "k", spool))
    out, err = nxt.communicate("go\n", timeout=120)
    assert (nxt.returncode, out.strip()) == (0, "True"), err
    counts = received(collector)
    assert set(counts) == ids and max(counts.values()) == 1
    assert spool_files(spool) == []


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_claim_is_honoured_while_its_holder_may_live(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path, 10**6, claim_lease=300, clock=clock)
    fill(tmp_path, batches=3)
    first, second, third = spool.pending()
    mine = spool.claim(first)
    assert mine is not None and spool.claim(first) is None  # one claim per batch
    # a live holder on this host (this process); one on another host, within its lease
    held = mine.path.name.replace(f"-{spool.host}.claimed", "-elsewhere.claimed")
    other = spool.claim(second)
    assert other is not None
    os.rename(other.path, tmp_path / held.replace(first.name, second.name))
    # an earlier process that had this pid (its token differs): gone
    token = spool_module._holder()[1]
    gone = spool.claim(third)
    assert gone is not None
    os.rename(gone.path, gone.path.with_name(gone.path.name.replace(token, "0" * len(token))))
    assert [p.name.split(".json.gz")[0] for p in spool.pending()] == [third.name[:-8]]
    assert spool.events_waiting() == 3 * 5
    clock.now += 301  # every lease has run out, this process's own too
    assert len(spool.pending()) == 3
    mine.release()
    assert first in spool.pending()


def test_an_unreadable_spooled_file_is_kept_aside_not_resent(
    collector: FakeCollector, fast_config: CaptureConfig
) -> None:
    directory = fast_config.spool_dir
    directory.mkdir(parents=True)
    (directory / "00000000000000000001-1-abcd-5.json.gz").write_bytes(b"not gzip")
    fill(directory, batches=1)
    cfg = CaptureConfig(**{**fast_config.__dict__, "url": collector.url})
    assert cfg.endpoint is not None
    exporter = Exporter(cfg, HttpSender(cfg.endpoint, None, cfg.timeout))
    assert exporter.flush(60)
    exporter.close()
    assert len(collector.events) == PER_BATCH
    dead = sorted(p.name for p in (directory / "dead").iterdir())
    assert dead == [
        "00000000000000000001-1-abcd-5.json.gz",
        "00000000000000000001-1-abcd-5.json.reason.txt",
    ]
    assert not Spool(directory, 10**6).pending()
