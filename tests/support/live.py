"""A real llmledger server on 127.0.0.1 in a background thread (uvicorn), for tests that need a
socket: SDK exporters, the loss test. It can be stopped and started again on the same port and
the same database."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from sqlalchemy import func, select

from llmledger.auth.tokens import create_api_token, create_ingest_key
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.settings import Settings
from llmledger.store import tables as t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        ledger = Ledger.open(settings)
        with ledger.engine.begin() as conn:
            self.admin_token = create_api_token(conn, role="admin", name="live admin")[1]
        ledger.close()

    def ingest_key(self, org: str) -> str:
        ledger = Ledger.open(self.settings, upgrade=False)
        try:
            with ledger.engine.begin() as conn:
                return create_ingest_key(conn, org_id=org, name=f"live {org}")[1]
        finally:
            ledger.close()

    def start(self) -> LiveServer:
        if self._server is not None:
            return self
        # the writer as `llmledger serve` would place it (a process of its own on SQLite)
        app = create_app(self.settings.model_copy(update={"writer": "auto"}))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"live-{self.port}", daemon=True)
        thread.start()
        # a start on a machine at load 20 can take more than a minute
        deadline = time.monotonic() + 180
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(20)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _query(self, stmt: Any) -> Any:
        ledger = Ledger.open(self.settings, upgrade=False)
        try:
            with ledger.engine.connect() as conn:
                return conn.execute(stmt).one()
        finally:
            ledger.close()

    def event_count(self) -> int:
        return int(self._query(select(func.count()).select_from(t.events))[0])

    def totals(self) -> dict[str, int]:
        e = t.events.c
        row = self._query(
            select(
                func.count(),
                func.coalesce(func.sum(e.input_tokens), 0),
                func.coalesce(func.sum(e.output_tokens), 0),
                func.coalesce(func.sum(e.cost_nanos), 0),
            )
        )
        return {
            "events": int(row[0]),
            "input_tokens": int(row[1]),
            "output_tokens": int(row[2]),
            "cost_nanos": int(row[3]),
        }
