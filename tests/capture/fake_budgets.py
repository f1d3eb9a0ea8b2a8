"""A scripted collector for budget checks: answers ``GET /api/v1/budget-status`` with
``answer`` (or ``status``), records every query, and can hold a request until the test lets it
go (``hold``), to show a caller never waits for a refresh. ``POST /api/v1/events`` is
accepted, so the SDK's exporter has somewhere to send."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.capture.fake_collector import QuietServer

OK: dict[str, Any] = {"blocked": False, "rules": [], "checkedRules": 1}
RULE = {
    "ruleId": 7,
    "ruleName": "Acme daily",
    "alertType": "daily_limit",
    "action": "block",
    "scope": {"orgId": "acme"},
    "state": "CRITICAL",
    "value": 60.0,
    "threshold": 50.0,
    "unit": "usd",
    "percentUsed": 120.0,
    "period": {
        "key": "2026-12-07",
        "start": "2026-12-07T00:00:00Z",
        "end": "2026-12-08T00:00:00Z",
        "timezone": "UTC",
    },
    "message": "CRITICAL: Acme daily: $60.00 of $50.00 (120%) spent on 2026-12-07 (UTC)",
    "figures": {},
}
BLOCKED: dict[str, Any] = {"blocked": True, "rules": [RULE], "checkedRules": 1}


class FakeBudgets:
    def __init__(self) -> None:
        self.answer: dict[str, Any] = OK
        self.status = 200
        self.queries: list[dict[str, str]] = []
        self.events: list[dict[str, Any]] = []
        #: while set to an unset Event, budget requests wait for it before answering
        self.hold: threading.Event | None = None
        #: set when a held request has arrived
        self.held = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/api/v1/budget-status":
                    return self._send(404, {"detail": "Not Found"})
                hold = fake.hold
                if hold is not None:
                    fake.held.set()
                    hold.wait(60)
                fake.queries.append(
                    {**dict(parse_qsl(url.query)), "auth": self.headers["Authorization"]}
                )
                if fake.status != 200:
                    return self._send(fake.status, {"detail": "scripted"})
                self._send(200, fake.answer)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                events = json.loads(gzip.decompress(raw))["events"]
                fake.events.extend(events)
                self._send(200, {"accepted": len(events), "duplicates": 0, "rejected": []})

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
