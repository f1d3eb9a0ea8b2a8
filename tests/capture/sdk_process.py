"""Running the SDK in processes of their own, as a user's jobs and workers do: each a fresh
interpreter with the ``LLMLEDGER_*`` environment a test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def sdk_env(url: str, key: str | None, spool: Path) -> dict[str, str]:
    env = {**os.environ, "LLMLEDGER_URL": url, "LLMLEDGER_SPOOL_DIR": str(spool)}
    env.pop("LLMLEDGER_API_KEY", None)
    if key is not None:
        env["LLMLEDGER_API_KEY"] = key
    return env


def run_sdk(
    code: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter; it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def start_sdk(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``code`` in a new interpreter, its stdin a pipe the test writes to."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def spool_files(spool: Path) -> list[Path]:
    """Every batch in a spool directory, claimed or not (``dead/`` and temporary files too)."""
    if not spool.exists():
        return []
    return sorted(p for p in spool.rglob("*") if p.is_file())
