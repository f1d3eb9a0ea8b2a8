"""The compiled pricer agrees to the nano-dollar with genai-prices' own calculator on the bundled
catalog: cache reads and 5m/1h writes, reasoning, audio, request fees, tiers on both sides of the
threshold, dated prices on both sides of a change, dated snapshots and provider-prefixed names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from llmledger.events import UsageEvent
from llmledger.money import usd_to_nanos
from llmledger.pricing.bundled import bundled_rows
from llmledger.pricing.cost import Pricer
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import PriceRow

# noon UTC, and one case for each side of DeepSeek's off-peak window
T = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)
O3_OLD = dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC)
O3_NEW = dt.datetime(2025, 7, 1, 12, tzinfo=dt.UTC)
SONNET_45 = dt.datetime(2025, 10, 15, 12, tzinfo=dt.UTC)
OFF_PEAK = dt.datetime(2025, 9, 1, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=2)))
CACHED = {"input_tokens": 10_000, "cache_read_tokens": 6_000, "cache_write_5m_tokens": 2_000}

CASES: list[tuple[str, str, dict[str, int], dt.datetime]] = [
    ("openai", "gpt-4o", {"input_tokens": 1000, "cache_read_tokens": 200, "output_tokens": 500}, T),
    ("openai", "gpt-4o-2024-08-06", {"input_tokens": 1000, "cache_read_tokens": 200}, T),
    ("openai", "gpt-4o-2024-05-13", {"input_tokens": 1000, "output_tokens": 500}, T),
    ("openai", "gpt-4o-mini", {"input_tokens": 12_000, "cache_read_tokens": 8000}, T),
    (
        "openai",
        "gpt-4.1",
        {"input_tokens": 5200, "cache_read_tokens": 2000, "output_tokens": 700},
        T,
    ),
    ("openai", "gpt-4.1-mini", {"input_tokens": 5200, "output_tokens": 700}, T),
    ("openai", "gpt-5", {"input_tokens": 3000, "output_tokens": 4000, "reasoning_tokens": 3000}, T),
    (
        "openai",
        "o3",
        {"input_tokens": 1000, "output_tokens": 5000, "reasoning_tokens": 4000},
        O3_OLD,
    ),
    (
        "openai",
        "o3",
        {"input_tokens": 1000, "output_tokens": 5000, "reasoning_tokens": 4000},
        O3_NEW,
    ),
    (
        "openai",
        "o3-mini",
        {"input_tokens": 2000, "output_tokens": 3000, "reasoning_tokens": 2500},
        T,
    ),
    ("openai", "o1", {"input_tokens": 1000, "output_tokens": 5000, "reasoning_tokens": 4000}, T),
    ("openai", "text-embedding-3-small", {"input_tokens": 900}, T),
    (
        "openai",
        "gpt-realtime",
        {
            "input_tokens": 800,
            "input_audio_tokens": 800,
            "output_tokens": 400,
            "output_audio_tokens": 400,
        },
        T,
    ),
    ("anthropic", "claude-sonnet-4-20250514", {**CACHED, "output_tokens": 1000}, T),
    (
        "anthropic",
        "claude-sonnet-4-20250514",
        {"input_tokens": 10_000, "cache_write_5m_tokens": 2000, "cache_write_1h_tokens": 2000},
        T,
    ),
    (
        "anthropic",
        "claude-sonnet-4-20250514",
        {"input_tokens": 9000, "cache_write_1h_tokens": 2000},
        T,
    ),
    ("anthropic", "claude-3-5-sonnet-20241022", {**CACHED, "output_tokens": 1000}, T),
    (
        "anthropic",
        "claude-3-5-haiku-20241022",
        {"input_tokens": 2500, "cache_read_tokens": 1000},
        T,
    ),
    ("anthropic", "claude-opus-4-1-20250805", {"input_tokens": 8000, "output_tokens": 1200}, T),
    (
        "anthropic",
        "claude-sonnet-4-5",
        {"input_tokens": 250_000, "cache_read_tokens": 50_000, "output_tokens": 2000},
        SONNET_45,
    ),
    ("google", "gemini-2.5-pro", {"input_tokens": 150_000, "output_tokens": 2000}, T),
    ("google", "gemini-2.5-pro", {"input_tokens": 200_000, "output_tokens": 2000}, T),
    ("google", "gemini-2.5-pro", {"input_tokens": 250_000, "output_tokens": 2000}, T),
    ("google", "gemini-2.5-flash", {"input_tokens": 40_000, "cache_read_tokens": 10_000}, T),
    ("google", "gemini-2.0-flash", {"input_tokens": 40_000, "output_tokens": 2000}, T),
    ("google", "claude-3-5-sonnet-v2@20241022", {"input_tokens": 10_000, "output_tokens": 1000}, T),
    ("perplexity", "sonar-pro", {"input_tokens": 1000, "output_tokens": 1000}, T),
    ("perplexity", "sonar", {"input_tokens": 1000, "output_tokens": 1000, "requests": 3}, T),
    ("openrouter", "openai/gpt-4o", {"input_tokens": 1000, "output_tokens": 500}, T),
    ("openrouter", "anthropic/claude-3.5-sonnet", {"input_tokens": 3500, "output_tokens": 500}, T),
    ("deepseek", "deepseek-chat", {"input_tokens": 3000, "cache_read_tokens": 1000}, T),
    # off-peak: DeepSeek's half price from 16:30 to 00:30 UTC (a daily window)
    ("deepseek", "deepseek-chat", {"input_tokens": 3000, "output_tokens": 900}, OFF_PEAK),
    ("deepseek", "deepseek-reasoner", {"input_tokens": 3000, "output_tokens": 900}, OFF_PEAK),
    ("mistral", "mistral-large-latest", {"input_tokens": 3000, "output_tokens": 800}, T),
    ("x-ai", "grok-3", {"input_tokens": 3000, "output_tokens": 800}, T),
    ("groq", "llama-3.3-70b-versatile", {"input_tokens": 3000, "output_tokens": 800}, T),
    ("aws", "anthropic.claude-3-5-sonnet-20241022-v2:0", {**CACHED, "output_tokens": 1000}, T),
]


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    rows = [dataclasses.replace(r, id=i + 1) for i, r in enumerate(bundled_rows())]
    fallback = PriceRow("*", "*", {"input": Decimal(10), "output": Decimal(30)}, source="fallback")
    return Pricer(PriceBook([*rows, fallback]))


def _genai_usage(u: dict[str, int]) -> Usage:
    writes = u.get("cache_write_5m_tokens", 0) + u.get("cache_write_1h_tokens", 0)
    return Usage(
        input_tokens=u.get("input_tokens", 0),
        output_tokens=u.get("output_tokens", 0),
        cache_read_tokens=u.get("cache_read_tokens"),
        cache_write_tokens=writes or None,  # genai-prices wants the total beside the 1h part
        cache_write_1h_tokens=u.get("cache_write_1h_tokens"),
        output_reasoning_tokens=u.get("reasoning_tokens"),
        input_audio_tokens=u.get("input_audio_tokens"),
        output_audio_tokens=u.get("output_audio_tokens"),
    )


@pytest.mark.parametrize(("provider", "model", "usage", "at"), CASES, ids=lambda v: str(v)[:24])
def test_pricer_agrees_with_genai_prices(
    pricer: Pricer, provider: str, model: str, usage: dict[str, Any], at: dt.datetime
) -> None:
    requests = usage.get("requests", 1)
    event = UsageEvent(event_id=uuid.uuid4(), timestamp=at, provider=provider, model=model, **usage)
    ours = pricer.price(event)
    theirs = calc_price(
        _genai_usage(usage), model, provider_id=provider, genai_request_timestamp=at
    )
    # genai-prices prices one request; a request fee counts once per request here
    fee = (theirs.model_price.requests_kcount or 0) / 1000 * (requests - 1)
    assert ours.cost_source == "catalog"
    assert ours.cost_nanos == usd_to_nanos(theirs.total_price + Decimal(fee))
    assert ours.cost_nanos > 0


def test_the_dated_o3_price_changes_on_2025_06_10(pricer: Pricer) -> None:
    usage = {"input_tokens": 1000, "output_tokens": 5000, "reasoning_tokens": 4000}
    before, after = (
        pricer.price(
            UsageEvent(event_id=uuid.uuid4(), timestamp=at, provider="openai", model="o3", **usage)
        )
        for at in (O3_OLD, O3_NEW)
    )
    assert (before.cost_nanos, after.cost_nanos) == (210_000_000, 42_000_000)
    assert before.price_id != after.price_id
