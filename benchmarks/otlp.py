"""OTLP ingest throughput: GenAI spans per second through ``POST /v1/traces`` (protobuf, as the
OpenTelemetry SDK's exporter sends them), beside its baseline measured in the same run: the same
calls as events per second through ``POST /api/v1/events`` (JSON).

Both paths get the same demo calls (in time order over the last five minutes, as a collector
sees them), in batches of the same size (512 by default: the SDK's ``BatchSpanProcessor``
exports at most 512 spans at once), from the same client threads, each run into a fresh SQLite
database of a real ``llmledger serve`` process (writer as ``serve`` places it). Runs of the two
paths are interleaved (``--rounds``) because this VM's speed drifts; the summary gives the
median run of each and their ratio.

    .venv/bin/python benchmarks/otlp.py [--events 50000] [--batch 512] [--threads 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import httpx
import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest import _cpu_seconds, admin_token, free_port, make_events, run_server
from llmledger.store.rows import to_us
from llmledger.wire import parse_timestamp

#: event field → the span attribute an instrumented application sets
ATTRIBUTES = {
    "model": "gen_ai.request.model",
    "inputTokens": "gen_ai.usage.input_tokens",
    "outputTokens": "gen_ai.usage.output_tokens",
    "cacheReadTokens": "gen_ai.usage.cache_read.input_tokens",
    "cacheWrite5mTokens": "gen_ai.usage.cache_creation.input_tokens",
    "reasoningTokens": "gen_ai.usage.reasoning.output_tokens",
    "sessionId": "gen_ai.conversation.id",
    "agent": "gen_ai.agent.name",
    "userId": "user.id",
}


def otlp_bodies(events: list[dict], batch: int) -> list[bytes]:
    """The events as GenAI chat spans, ``batch`` spans per ``ExportTraceServiceRequest``."""
    bodies = []
    for i in range(0, len(events), batch):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        kv = rs.resource.attributes.add()
        kv.key, kv.value.string_value = "service.name", "benchmark"
        spans = rs.scope_spans.add()
        spans.scope.name = "opentelemetry.instrumentation.openai"
        for n, e in enumerate(events[i : i + batch], start=i):
            span = spans.spans.add()
            span.trace_id = (n + 1).to_bytes(16, "big")
            span.span_id = (n + 1).to_bytes(8, "big")
            span.name = f"chat {e['model']}"
            span.kind = 3  # client
            start = to_us(parse_timestamp(e["timestamp"])) * 1000
            span.start_time_unix_nano = start
            span.end_time_unix_nano = start + int(e.get("latencyMs") or 0) * 1_000_000
            for key, value in (
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.provider.name", e["provider"]),
                *((ATTRIBUTES[f], e[f]) for f in ATTRIBUTES if e.get(f) is not None),
            ):
                kv = span.attributes.add()
                kv.key = key
                if isinstance(value, int):
                    kv.value.int_value = value
                else:
                    kv.value.string_value = value
            if e.get("success") is False:
                span.status.code = 2
        bodies.append(request.SerializeToString())
    return bodies


def json_bodies(events: list[dict], batch: int) -> list[bytes]:
    return [orjson.dumps({"events": events[i : i + batch]}) for i in range(0, len(events), batch)]


def run(
    path: str,
    bodies: list[tuple[bytes, int]],
    n: int,
    threads: int,
    counted: Callable[[httpx.Response, int], int],
) -> tuple[float, float]:
    """Items per second through ``path`` of a fresh server, and the CPU microseconds per item
    of the server and its writer process together (a figure the VM's load moves less)."""
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "LLMLEDGER_DATA_DIR": data}
        env.pop("LLMLEDGER_DATABASE_URL", None)
        port = free_port()
        proc = run_server(env, port)
        try:
            token = admin_token(env)
            ctype = "application/json" if path == "/api/v1/events" else "application/x-protobuf"
            headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype}
            url = f"http://127.0.0.1:{port}{path}"
            local = threading.local()
            clients: list[httpx.Client] = []

            def client() -> httpx.Client:
                c = getattr(local, "client", None)
                if c is None:  # one keep-alive connection per client thread
                    c = local.client = httpx.Client(timeout=300)
                    clients.append(c)
                return c

            def warm(_: int) -> None:  # connections made and the price book loaded, untimed
                client().get(f"http://127.0.0.1:{port}/healthz")

            def send(item: tuple[bytes, int]) -> int:
                r = client().post(url, content=item[0], headers=headers)
                r.raise_for_status()
                return counted(r, item[1])

            with cf.ThreadPoolExecutor(threads) as pool:
                list(pool.map(warm, range(threads * 4)))
                cpu_before = sum(_cpu_seconds(proc.pid))
                started = time.perf_counter()
                done = sum(pool.map(send, bodies))
                elapsed = time.perf_counter() - started
                cpu = sum(_cpu_seconds(proc.pid)) - cpu_before
            for c in clients:
                c.close()
            assert done == n, (path, done, n)
            return n / elapsed, cpu / n * 1e6
        finally:
            proc.terminate()
            proc.wait(30)


def _accepted(r: httpx.Response, _: int) -> int:
    return int(r.json()["accepted"])


def _spans(r: httpx.Response, sent: int) -> int:
    # a full success answers an empty ExportTraceServiceResponse: every span is an event
    assert r.content == b"", r.content[:200]
    return sent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    events = make_events(args.events, "live")
    for e in events:  # the fields an OTLP span has no attribute for
        for field in ("orgId", "operation", "tier", "metadata", "costUsd", "requestId"):
            e.pop(field, None)
        e["operation"] = "chat"
    n = len(events)
    sizes = [min(args.batch, n - i) for i in range(0, n, args.batch)]
    otlp = list(zip(otlp_bodies(events, args.batch), sizes, strict=True))
    plain = list(zip(json_bodies(events, args.batch), sizes, strict=True))
    print(
        f"{n} calls in batches of {args.batch}, {args.threads} client threads, SQLite, "
        f"writer as serve places it; protobuf {sum(len(b) for b, _ in otlp) / n:.0f} B/span, "
        f"JSON {sum(len(b) for b, _ in plain) / n:.0f} B/event"
    )
    results: dict[str, list[float]] = {"events": [], "spans": []}
    cpu: dict[str, list[float]] = {"events": [], "spans": []}
    for r in range(args.rounds):
        for kind, path, body, count in (
            ("events", "/api/v1/events", plain, _accepted),
            ("spans", "/v1/traces", otlp, _spans),
        ):
            rate, us = run(path, body, n, args.threads, count)
            results[kind].append(rate)
            cpu[kind].append(us)
        print(
            f"round {r + 1}: POST /api/v1/events {results['events'][-1]:,.0f} events/s "
            f"({cpu['events'][-1]:.0f} CPU µs/event), POST /v1/traces "
            f"{results['spans'][-1]:,.0f} spans/s ({cpu['spans'][-1]:.0f} CPU µs/span): "
            f"{results['spans'][-1] / results['events'][-1]:.0%}"
        )
    events_s = statistics.median(results["events"])
    spans_s = statistics.median(results["spans"])
    # each round's two runs are neighbours in time: their ratio moves less with the VM's drift
    paired = statistics.median(
        s / e for s, e in zip(results["spans"], results["events"], strict=True)
    )
    events_us, spans_us = statistics.median(cpu["events"]), statistics.median(cpu["spans"])
    print(
        f"median: /api/v1/events {events_s:,.0f} events/s (baseline), "
        f"/v1/traces {spans_s:,.0f} spans/s = {spans_s / events_s:.0%} of the baseline; "
        f"median of the rounds' ratios {paired:.0%}; server + writer CPU "
        f"{events_us:.0f} µs/event, {spans_us:.0f} µs/span (baseline's share "
        f"{events_us / spans_us:.0%})"
    )


if __name__ == "__main__":
    main()
