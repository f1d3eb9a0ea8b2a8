"""``llmledger serve`` as a process of its own, for tests that kill the collector outright
(``SIGKILL``: no shutdown, no flush) and start it again on the same port and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from llmledger.auth.tokens import create_ingest_key
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store import tables as t
from tests.support.live import free_port
from tests.support.processes import alive, children


class ServedLedger:
    def __init__(
        self,
        settings: Settings,
        *,
        args: Sequence[str] = (),
        output: Path | None = None,
        start_seconds: float = 180,
    ) -> None:
        """``args`` go to ``llmledger serve`` (``--demo``); its standard output is written to
        ``output`` when given; ``start_seconds`` is how long it may take to answer (a start on
        a machine at load 20 can take more than a minute)."""
        self.settings = settings
        self.args = tuple(args)
        self.output = output
        self.start_seconds = start_seconds
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._spawned: set[int] = set()  # the server's own children (the writer process)

    def ingest_key(self, org: str) -> str:
        ledger = Ledger.open(self.settings)
        try:
            with ledger.engine.begin() as conn:
                return create_ingest_key(conn, org_id=org, name=f"served {org}")[1]
        finally:
            ledger.close()

    def start(self) -> None:
        env = {
            **os.environ,
            "LLMLEDGER_DATA_DIR": str(self.settings.data_dir),
            "LLMLEDGER_DATABASE_URL": str(self.settings.database_url),
            "LLMLEDGER_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",  # what it prints is in ``output`` once it answers
        }
        env.pop("LLMLEDGER_WRITER", None)  # as a user runs it: the writer process on SQLite
        cmd = [sys.executable, "-m", "llmledger.cli", "serve", "--port", str(self.port)]
        out = self.output.open("wb") if self.output is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [*cmd, *self.args], env=env, stdout=out, stderr=subprocess.DEVNULL
            )
        finally:
            if self.output is not None:
                out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + self.start_seconds
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"llmledger serve did not start (exit {self.proc.poll()})")
            time.sleep(0.05)
        self._spawned.update(children(self.proc.pid))

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """``kill -9`` the server; its writer process ends when its pipe closes."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        self._spawned.update(children(proc.pid))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        self._wait_children()

    def _wait_children(self) -> None:
        deadline = time.monotonic() + 30
        for pid in list(self._spawned):
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
            self._spawned.discard(pid)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        self._wait_children()

    def __enter__(self) -> ServedLedger:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def event_ids(self) -> list[str]:
        """Every stored event's id (read straight from the database, server up or not)."""
        ledger = Ledger.open(self.settings, upgrade=False)
        try:
            with ledger.engine.connect() as conn:
                return [str(r[0]) for r in conn.execute(select(t.events.c.event_id))]
        finally:
            ledger.close()
