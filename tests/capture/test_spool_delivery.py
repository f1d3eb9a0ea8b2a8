"""What one process spooled, the next one delivers: real processes, a real server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmledger.ledger import Ledger
from llmledger.settings import Settings
from tests.capture.fake_provider import FakeProvider
from tests.capture.sdk_process import run_sdk, sdk_env, spool_files, start_sdk
from tests.support.live import LiveServer

CALLS = 40

JOB_A = """
import llmledger, openai
llmledger.configure(max_retries=1, backoff_base=0.01, backoff_max=0.05, exit_timeout=10)
client = llmledger.wrap(openai.OpenAI(api_key="k", base_url={provider!r}, max_retries=0))
for _ in range({calls}):
    client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "x"}}])
"""

JOB_B = {
    "configure": "import llmledger\nllmledger.configure()\n",
    "wrap": (
        "import llmledger, openai\n"
        "llmledger.wrap(openai.OpenAI(api_key='k', base_url='http://127.0.0.1:9/v1'))\n"
    ),
}


def spool_while_down(
    server: LiveServer, provider: FakeProvider, spool: Path, key: str
) -> dict[str, str]:
    """Job A makes its calls while nothing listens at the server's address, and exits."""
    env = sdk_env(server.url, key, spool)
    done = run_sdk(JOB_A.format(provider=provider.url + "/v1", calls=CALLS), env)
    assert f"{CALLS} events could not be delivered" in done.stderr
    assert spool_files(spool)
    return env


@pytest.mark.parametrize("start", ["configure", "wrap"])
def test_next_process_delivers_the_spool_when_it_flushes(
    start: str, ledger: Ledger, settings: Settings, provider: FakeProvider, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    server = LiveServer(settings)
    env = spool_while_down(server, provider, spool, server.ingest_key("acme"))
    with server:
        done = run_sdk(JOB_B[start] + "print(llmledger.flush(timeout=30))\n", env)
        assert done.stdout.strip() == "True", done.stderr
        assert server.event_count() == CALLS
    assert spool_files(spool) == []


def test_next_process_delivers_the_spool_at_exit(
    ledger: Ledger, settings: Settings, provider: FakeProvider, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    server = LiveServer(settings)
    env = spool_while_down(server, provider, spool, server.ingest_key("acme"))
    with server:
        run_sdk("import llmledger\nllmledger.configure(exit_timeout=30)\n", env)
        assert server.event_count() == CALLS
    assert spool_files(spool) == []


def test_configure_alone_delivers_the_spool_in_the_background(
    ledger: Ledger, settings: Settings, provider: FakeProvider, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    server = LiveServer(settings)
    env = spool_while_down(server, provider, spool, server.ingest_key("acme"))
    with server:
        job = start_sdk(JOB_B["configure"] + "import sys; sys.stdin.read()\n", env)
        try:
            deadline = time.monotonic() + 60
            while server.event_count() < CALLS and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.event_count() == CALLS
            deadline = time.monotonic() + 60
            while spool_files(spool) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert spool_files(spool) == []
        finally:
            _, err = job.communicate("", timeout=60)
        assert job.returncode == 0, err
