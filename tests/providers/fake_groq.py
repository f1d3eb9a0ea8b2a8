"""A fake Groq Prometheus metrics API on 127.0.0.1: ``/api/v1/query_range`` answers the
standard matrix for the metric a query names, one sample per step from ``start`` to ``end``,
each series' value given by a function of the sample's time (``None``: no sample there)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GROQ_KEY = "gsk-test-enterprise"
PREFIX = "/openai/v1/metrics/prometheus"  # any prefix: the base URL is a setting

Rate = Callable[[int], str | None]


@dataclass
class Metrics:
    #: metric part of the query ("tokens_in", "tokens_out", "requests") → [(labels, rate)]
    series: dict[str, list[tuple[dict[str, str], Rate]]]
    status: int = 200
    queries: list[dict[str, list[str]]] = field(default_factory=list)


def _matrix(metrics: Metrics, query: dict[str, list[str]]) -> dict[str, Any]:
    text = query["query"][0]
    start, end, step = (int(float(query[k][0])) for k in ("start", "end", "step"))
    name = next((n for n in metrics.series if f":{n}:" in text), None)
    if name is None:
        return {"status": "error", "errorType": "bad_data", "error": f"unknown metric in {text}"}
    result = []
    for labels, rate in metrics.series[name]:
        values = []
        for t in range(start, end + 1, step):
            value = rate(t)
            if value is not None:
                values.append([t, value])
        if values:
            result.append({"metric": labels, "values": values})
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


@contextmanager
def serve(metrics: Metrics) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            metrics.queries.append(query)
            if self.headers.get("Authorization") != f"Bearer {GROQ_KEY}":
                self._send(401, {"status": "error", "error": "invalid API key"})
            elif metrics.status != 200:
                self._send(metrics.status, {"status": "error", "error": "scripted"})
            elif url.path != f"{PREFIX}/api/v1/query_range":
                self._send(404, {"status": "error", "error": "not found"})
            else:
                self._send(200, _matrix(metrics, query))

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    finally:
        server.shutdown()
        server.server_close()
