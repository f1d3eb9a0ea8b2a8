"""The collector killed outright (``kill -9``) and restarted while several processes make calls:
when they have exited, the server holds every call exactly once and the spool is empty."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.capture.sdk_process import sdk_env, spool_files, start_sdk
from tests.support.databases import SqliteTemplate
from tests.support.served import ServedLedger

PROCESSES = 3
RESTARTS = 3

#: calls every 50 ms until the stop file appears, then flushes and reports its event ids
JOB = """
import json, os, time, llmledger
llmledger.configure(batch_size=10, max_age=0.05, max_retries=1, backoff_base=0.01,
                    backoff_max=0.05, spool_retry_interval=2, timeout=5, exit_timeout=30)
ids = []
while not os.path.exists({stop!r}):
    ids.append(llmledger.record(provider="openai", model="gpt-4o", input_tokens=3,
                                output_tokens=2, agent={name!r}))
    time.sleep(0.05)
print(json.dumps({{"ids": ids, "flushed": llmledger.flush(timeout=60)}}))
"""


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_collector_loses_and_doubles_nothing(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    server = ServedLedger(sqlite_template.settings_for(tmp_path / "data", writer="auto"))
    spool, stop = tmp_path / "spool", tmp_path / "stop"
    env = sdk_env(server.url, server.ingest_key("acme"), spool)
    jobs: list[subprocess.Popen[str]] = []
    try:
        server.start()
        jobs = [
            start_sdk(JOB.format(stop=str(stop), name=f"job-{i}"), env) for i in range(PROCESSES)
        ]
        for _ in range(RESTARTS):
            stored = len(server.event_ids())
            wait_for(lambda n=stored: len(server.event_ids()) > n, "the server stores new calls")
            before = set(spool_files(spool))
            server.kill()
            wait_for(lambda b=before: set(spool_files(spool)) - b, "a process spools a batch")
            server.start()
        stop.touch()
        reports = []
        for job in jobs:
            out, err = job.communicate(timeout=120)
            assert job.returncode == 0, err
            reports.append(json.loads(out))
    finally:
        for job in jobs:
            if job.poll() is None:
                job.kill()
                job.wait(30)
        server.stop()
    assert [r["flushed"] for r in reports] == [True] * PROCESSES
    made = [i for r in reports for i in r["ids"]]
    assert len(set(made)) == len(made) > 0
    stored_ids = server.event_ids()
    assert len(stored_ids) == len(made)
    assert set(stored_ids) == set(made)
    assert spool_files(spool) == []
