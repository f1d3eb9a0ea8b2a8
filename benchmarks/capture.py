"""Capture overhead: what a tracked call adds on the caller's thread, next to an untracked one.

The real ``openai`` SDK calls a local fake provider (HTTP on 127.0.0.1); tracked and untracked
clients alternate call by call so drift and noise hit both alike. Reported: the untracked
baseline, and the median and p99 of the per-pair difference in wall time and in caller-thread
CPU. Then the exporter thread's CPU per event (finalise, JSON, gzip, POST) on its own.

Budget enforcement (``enforce_budgets=True``) is measured the same way: one tracked client,
its calls alternating between enforcement on (the scope's state warm in the cache, refreshed in
the background every ``budget_cache_seconds``) and off, so the difference is what the check
adds to a tracked call; and the check alone, with no I/O.

    .venv/bin/python benchmarks/capture.py [--calls 3000] [--budgets-only]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

import llmledger  # noqa: E402
from llmledger.capture import state  # noqa: E402
from llmledger.capture.config import CaptureConfig  # noqa: E402
from llmledger.capture.exporter import Exporter  # noqa: E402
from llmledger.capture.transport import Outcome  # noqa: E402
from tests.capture.fake_budgets import FakeBudgets  # noqa: E402
from tests.capture.fake_collector import FakeCollector  # noqa: E402
from tests.capture.fake_provider import FakeProvider  # noqa: E402

MSGS = [{"role": "user", "content": "hi"}]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    fn()
    return (time.perf_counter_ns() - w0) / 1000, (time.thread_time_ns() - c0) / 1000


def pairs(calls: int, plain: Callable[[], object], tracked: Callable[[], object]) -> dict:
    base_wall, diff_wall, diff_cpu = [], [], []
    for i in range(calls):
        if i % 2:
            tw, tc = timed(tracked)
            pw, pc = timed(plain)
        else:
            pw, pc = timed(plain)
            tw, tc = timed(tracked)
        base_wall.append(pw)
        diff_wall.append(tw - pw)
        diff_cpu.append(tc - pc)
    return {
        "baseline_median_us": statistics.median(base_wall),
        "added_median_us": statistics.median(diff_wall),
        "added_p99_us": quantile(diff_wall, 0.99),
        "added_cpu_median_us": statistics.median(diff_cpu),
    }


def wrapper_only(calls: int) -> dict[str, float]:
    """llmledger's own work per call with no I/O at all: the tracking function around a method
    that returns a real SDK ``ChatCompletion`` (or a stream of four real chunks) at once."""
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    from llmledger.capture.openai_adapters import Chat
    from llmledger.capture.wrap import ClientSettings, tracking_method
    from tests.capture.fake_provider import CHAT_USAGE, _chat, _chunk

    completion = ChatCompletion.model_validate(_chat("gpt-4o"))
    chunks = [ChatCompletionChunk.model_validate(_chunk("gpt-4o", t)) for t in ("", "Hel", "lo")]
    chunks.append(ChatCompletionChunk.model_validate(_chunk("gpt-4o", None, usage=CHAT_USAGE)))

    class FakeStream:
        def __init__(self) -> None:
            self._iterator = iter(chunks)

        def __next__(self) -> object:
            return next(self._iterator)

        def __iter__(self) -> object:
            yield from self._iterator

        def close(self) -> None:
            pass

    def create(**kwargs: object) -> object:
        return FakeStream() if kwargs.get("stream") else completion

    tracked = tracking_method(create, Chat(), ClientSettings("openai", {"agent": "bench"}))
    out = {}
    for name, fn in (("plain", create), ("tracked", tracked)):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(model="gpt-4o", messages=MSGS)
        t1 = time.perf_counter()
        for _ in range(calls):
            for _ in fn(model="gpt-4o", messages=MSGS, stream=True):  # type: ignore[attr-defined]
                pass
        t2 = time.perf_counter()
        out[name] = (t1 - t0) / calls * 1e6
        out[name + "_stream"] = (t2 - t1) / calls * 1e6
    return {
        "call_us": out["tracked"] - out["plain"],
        "stream_us": out["tracked_stream"] - out["plain_stream"],
    }


class Discard:
    """A sender that accepts everything (no network)."""

    def send(self, body: bytes) -> Outcome:
        return Outcome(True)


def exporter_cpu(events: int) -> float:
    """Exporter-thread CPU per event (no network: the sender only counts)."""

    with tempfile.TemporaryDirectory() as tmp:
        exp = Exporter(CaptureConfig(spool_dir=Path(tmp), max_age=0.01), Discard())
        event = {
            "timestamp": time.time(),
            "provider": "openai",
            "model": "gpt-4o-2024-08-06",
            "agent": "CIA",
            "orgId": "acme",
            "userId": "u42",
            "inputTokens": 19,
            "outputTokens": 10,
            "latencyMs": 3,
            "success": True,
            "stream": False,
            "requestId": "req_123",
        }
        c0 = time.process_time()
        for _ in range(events):
            exp.submit(dict(event))
        exp.flush(60)
        cpu = time.process_time() - c0
        exp.close()
    return cpu / events * 1e6


def enforcement(calls: int, provider: FakeProvider) -> dict[str, float]:
    """A tracked call with ``enforce_budgets=True`` once warm against the same call without:
    the pairs alternate the budget checks on and off on one client."""
    server = FakeBudgets()
    with tempfile.TemporaryDirectory() as tmp:
        llmledger.configure(server.url, "bench", spool_dir=Path(tmp), enforce_budgets=True)
        guard = state.budgets()
        assert guard is not None
        client = llmledger.wrap(
            openai.OpenAI(api_key="k", base_url=provider.url + "/v1", max_retries=0), agent="bench"
        )

        def on() -> object:
            state._budgets = guard
            return client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]

        def off() -> object:
            state._budgets = None
            return client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]

        with llmledger.attribute(org_id="acme", user_id="u42"):
            pairs(200, off, on)  # warm up: the scope's first check is the one that waits
            result = pairs(calls, off, on)
        state._budgets = guard
        reads = guard.reads
        scope = ("acme", "bench", "u42", "openai", "gpt-4o")
        n = 200_000
        t0 = time.perf_counter()
        for _ in range(n):
            guard.check(scope)  # type: ignore[arg-type]
        result["check_alone_us"] = (time.perf_counter() - t0) / n * 1e6
        result["reads"] = reads
        llmledger.flush(30)
        client.close()
        llmledger.shutdown()
    server.close()
    return result


def report_enforcement(calls: int, r: dict[str, float]) -> None:
    ratio = (r["baseline_median_us"] + r["added_median_us"]) / r["baseline_median_us"]
    print(
        f"enforce_budgets=True, warm ({calls} pairs, {r['reads']:.0f} budget reads in all): "
        f"tracked without median {r['baseline_median_us']:.1f} us | added: median "
        f"{r['added_median_us']:.1f} us, p99 {r['added_p99_us']:.1f} us, caller CPU median "
        f"{r['added_cpu_median_us']:.1f} us | ratio {ratio:.3f}"
    )
    print(f"budget check alone, warm (no I/O): {r['check_alone_us']:.2f} us per call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--budgets-only", action="store_true")
    args = parser.parse_args()
    if args.budgets_only:
        provider = FakeProvider()
        print(f"python {sys.version.split()[0]}, openai {openai.__version__}")
        report_enforcement(args.calls, enforcement(args.calls, provider))
        provider.close()
        return
    provider, collector = FakeProvider(), FakeCollector()
    with tempfile.TemporaryDirectory() as tmp:
        llmledger.configure(collector.url, "bench", spool_dir=Path(tmp))
        plain = openai.OpenAI(api_key="k", base_url=provider.url + "/v1", max_retries=0)
        tracked = llmledger.wrap(
            openai.OpenAI(api_key="k", base_url=provider.url + "/v1", max_retries=0), agent="bench"
        )

        def call(client: openai.OpenAI) -> Callable[[], object]:
            return lambda: client.chat.completions.create(model="gpt-4o", messages=MSGS)  # type: ignore[arg-type]

        def stream(client: openai.OpenAI, usage: bool = False) -> Callable[[], object]:
            extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if usage else {}

            def run() -> None:
                for _ in client.chat.completions.create(
                    model="gpt-4o",
                    messages=MSGS,  # type: ignore[arg-type]
                    stream=True,
                    **extra,
                ):
                    pass

            return run

        with llmledger.attribute(org_id="acme", user_id="u42"):
            pairs(200, call(plain), call(tracked))  # warm up connections and caches
            results = {
                "chat.completions.create": pairs(args.calls, call(plain), call(tracked)),
                # the tracked stream asks for usage: one more chunk for the SDK to parse
                "stream=True": pairs(args.calls // 2, stream(plain), stream(tracked)),
                # against an untracked stream that asks for usage too: llmledger's own cost
                "stream=True vs include_usage": pairs(
                    args.calls // 2, stream(plain, usage=True), stream(tracked)
                ),
            }
        llmledger.flush(30)
        plain.close()
        tracked.close()
        llmledger.shutdown()
    provider.close()
    collector.close()
    print(f"python {sys.version.split()[0]}, openai {openai.__version__}, {args.calls} pairs")
    for name, r in results.items():
        print(
            f"{name:30s} untracked median {r['baseline_median_us']:8.1f} us | added: median "
            f"{r['added_median_us']:6.1f} us, p99 {r['added_p99_us']:7.1f} us, caller CPU "
            f"median {r['added_cpu_median_us']:6.1f} us"
        )
    with tempfile.TemporaryDirectory() as tmp:
        # the exporter's thread is held back here so its work (measured below) does not
        # compete for the GIL inside this measurement
        held = Exporter(CaptureConfig(spool_dir=Path(tmp), queue_size=10**6), Discard())
        held._start = lambda: None  # type: ignore[method-assign]
        state._exporter = held
        own = wrapper_only(20_000)
        state._exporter = None
        held._queue.clear()
    print(
        f"llmledger code alone (no I/O): {own['call_us']:.1f} us per call, "
        f"{own['stream_us']:.1f} us per 4-chunk stream"
    )
    print(f"exporter thread CPU per event: {exporter_cpu(50_000):.1f} us")
    provider = FakeProvider()
    report_enforcement(args.calls, enforcement(args.calls, provider))
    provider.close()


if __name__ == "__main__":
    main()
