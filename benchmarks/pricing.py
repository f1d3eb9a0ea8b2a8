"""Pricing speed: mean microseconds per event of ``Pricer.price`` (the compiled resolver: one
cached name lookup, one ``bisect`` for the row in force, integer arithmetic) over realistic warm
traffic, next to ``genai_prices.calc_price`` on the same events as the baseline. Also counts
how many catalog-priced events the two price differently (expected: none).

    .venv/bin/python benchmarks/pricing.py [--events 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import time
from decimal import Decimal

from genai_prices import Usage, calc_price

from llmledger.demo import Demo
from llmledger.events import UsageEvent
from llmledger.money import usd_to_nanos
from llmledger.pricing.bundled import bundled_rows
from llmledger.pricing.cost import Pricer
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import PriceRow

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def pricer() -> Pricer:
    rows = [dataclasses.replace(r, id=i + 1) for i, r in enumerate(bundled_rows())]
    fallback = PriceRow("*", "*", {"input": Decimal(10), "output": Decimal(30)}, source="fallback")
    return Pricer(PriceBook([*rows, fallback]))


def genai_usage(e: UsageEvent) -> Usage:
    writes = e.cache_write_5m_tokens + e.cache_write_1h_tokens
    return Usage(
        input_tokens=e.input_tokens,
        output_tokens=e.output_tokens,
        cache_read_tokens=e.cache_read_tokens or None,
        cache_write_tokens=writes or None,
        cache_write_1h_tokens=e.cache_write_1h_tokens or None,
        output_reasoning_tokens=e.reasoning_tokens or None,
        input_audio_tokens=e.input_audio_tokens or None,
        output_audio_tokens=e.output_audio_tokens or None,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    events = list(Demo(events=args.events, days=30, now=NOW, seed=11))
    p = pricer()
    for e in events:  # warm: every distinct name resolved once, as in a running server
        p.price(e)
    ours = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for e in events:
            p.price(e)
        ours.append((time.perf_counter() - started) / len(events) * 1e6)

    usages = [(genai_usage(e), e) for e in events]
    calc_price(usages[0][0], usages[0][1].model, provider_id=usages[0][1].provider)
    theirs: list[float] = []
    differ = unknown = compared = 0
    for run in range(max(1, args.runs // 2)):
        started = time.perf_counter()
        answers = []
        for usage, e in usages:
            try:
                answers.append(
                    calc_price(
                        usage, e.model, provider_id=e.provider, genai_request_timestamp=e.timestamp
                    )
                )
            except LookupError:
                answers.append(None)
        theirs.append((time.perf_counter() - started) / len(events) * 1e6)
        if run == 0:
            for answer, (_, e) in zip(answers, usages, strict=True):
                mine = p.price(e)
                if answer is None:
                    unknown += 1
                elif mine.cost_source == "catalog":
                    compared += 1
                    differ += usd_to_nanos(answer.total_price) != mine.cost_nanos

    print(f"events: {len(events)} ({len({(e.provider, e.model) for e in events})} names)")
    print(
        f"Pricer.price:            mean {statistics.mean(ours):6.2f} us/event "
        f"(best {min(ours):.2f}, {args.runs} runs)"
    )
    print(
        f"genai_prices.calc_price: mean {statistics.mean(theirs):6.2f} us/event "
        f"(best {min(theirs):.2f}, {len(theirs)} runs; {unknown} events it cannot price)"
    )
    print(f"speed-up: {statistics.mean(theirs) / statistics.mean(ours):.0f}x")
    print(f"catalog-priced events compared: {compared}, priced differently: {differ}")


if __name__ == "__main__":
    main()
