"""A fake Groq Prometheus metrics API on 127.0.0.1: ``/api/v1/query_range`` answers the
standard matrix for the metric a query names, one sample per step from ``start`` to ``end``,
each series' value given by a function of the sample's time (``None``: no sample there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_http import JsonHandler, serving

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
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            metrics.queries.append(query)
            if self.headers.get("Authorization") != f"Bearer {GROQ_KEY}":
                self.send_json(401, {"status": "error", "error": "invalid API key"})
            elif metrics.status != 200:
                self.send_json(metrics.status, {"status": "error", "error": "scripted"})
            elif url.path != f"{PREFIX}/api/v1/query_range":
                self.send_json(404, {"status": "error", "error": "not found"})
            else:
                self.send_json(200, _matrix(metrics, query))

    with serving(Handler) as origin:
        yield origin + PREFIX
