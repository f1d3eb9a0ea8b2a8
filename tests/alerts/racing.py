"""Alert processes released at once (``tests.alerts.worker``), for the race tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llmledger.settings import Settings
from tests.alerts.receivers import Mailbox

#: what a race may take at most on a loaded machine (it is waited for, never timed)
TIMEOUT_SECONDS = 120


def sending_env(mailbox: Mailbox, public_url: str) -> dict[str, str]:
    """The environment of a process that sends to ``mailbox`` and to webhooks on 127.0.0.1."""
    return {
        "LLMLEDGER_SMTP_HOST": "127.0.0.1",
        "LLMLEDGER_SMTP_PORT": str(mailbox.port),
        "LLMLEDGER_SMTP_SECURITY": "none",
        "LLMLEDGER_SMTP_FROM": "alerts@ledger.example.com",
        "LLMLEDGER_ALLOW_PRIVATE_WEBHOOKS": "true",
        "LLMLEDGER_PUBLIC_URL": public_url,
    }


def race(
    settings: Settings,
    go: Path,
    mode: str,
    now: dt.datetime,
    *,
    times: int = 5,
    processes: int = 2,
    env: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """``processes`` workers in ``mode`` (``round`` or ``deliver``) released at once by the
    ``go`` file, each running ``times`` times at ``now``: what each did."""
    cmd = [
        sys.executable,
        "-m",
        "tests.alerts.worker",
        mode,
        settings.resolved_database_url,
        str(settings.data_dir),
        str(go),
        now.isoformat(),
        str(times),
    ]
    full_env = {**os.environ, "LLMLEDGER_LOG_LEVEL": "warning", **(env or {})}
    procs = [
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env
        )
        for _ in range(processes)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            assert line == "ready", p.stderr.read() if p.stderr else line
        go.touch()
        done = []
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT_SECONDS)
            assert p.returncode == 0, err
            done.append(json.loads(out.strip().splitlines()[-1]))
        return done
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
