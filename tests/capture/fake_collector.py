"""A scripted stand-in for the collector: answers from a list of (status, headers) and records
every request (decoded), for the exporter's retry and dead-letter paths."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeCollector:
    def __init__(self, script: list[tuple[int, dict[str, str]]] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(gzip.decompress(raw))
                collector.requests.append({"headers": dict(self.headers), "body": body})
                status, headers = collector.script.pop(0) if collector.script else (200, {})
                answer = (
                    {"accepted": len(body["events"]), "duplicates": 0, "rejected": []}
                    if status == 200
                    else {"detail": "scripted"}
                )
                if status == 200 and "reject" in headers:
                    answer["rejected"] = [{"index": 0, "errors": ["model: bad"]}]
                    headers = {}
                data = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

            def log_message(self, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for r in self.requests for e in r["body"]["events"]]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (closed or abandoned streams) are expected here
