"""`llmledger serve --demo` as a user runs it: a real process on 127.0.0.1, then the API."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.support.live import free_port
from tests.support.processes import alive
from tests.support.processes import children as children_of


@pytest.mark.slow
def test_serve_demo_answers_with_demo_totals(tmp_path):
    children: list[int] = []
    port = free_port()
    env = {
        **os.environ,
        "LLMLEDGER_DATA_DIR": str(tmp_path / "data"),
        "LLMLEDGER_LOG_LEVEL": "warning",
    }
    env.pop("LLMLEDGER_DATABASE_URL", None)
    cmd = [
        sys.executable,
        "-m",
        "llmledger.cli",
        "serve",
        "--demo",
        "--demo-events",
        "3000",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output = b""
        deadline = time.monotonic() + 60
        token = None
        while time.monotonic() < deadline and token is None:
            line = proc.stdout.readline() if proc.stdout else b""
            if not line and proc.poll() is not None:
                break
            output += line
            m = re.search(rb"demo admin token \(shown once\): (\S+)", line)
            if m:
                token = m.group(1).decode()
        assert token, output.decode(errors="replace")
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        r = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/admin/llm-costs/global",
            params={"startDate": "2000-01-01"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["totalRequests"] == 3000
        assert body["costUsd"] > 0
        assert (tmp_path / "data" / "llmledger.db").exists()
        assert (tmp_path / "data" / "secret_key").exists()
        # ingest goes through the writer process, which stops with the server
        event = {
            "eventId": str(uuid.uuid4()),
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "provider": "openai",
            "model": "gpt-4o",
            "inputTokens": 10,
        }
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/events", json={"events": [event]}, headers=auth
        )
        assert r.json()["accepted"] == 1, r.text
        children = children_of(proc.pid)
        assert children, "no writer process"
    finally:
        proc.terminate()
        proc.wait(20)
        if proc.stdout:
            proc.stdout.close()
    deadline = time.monotonic() + 60
    while any(alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(c) for c in children), "a child of the server outlived it"
