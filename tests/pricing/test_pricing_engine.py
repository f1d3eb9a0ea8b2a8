"""The resolver and the cost arithmetic, on small hand-made catalogs (no database)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from llmledger.events import UsageEvent
from llmledger.pricing.cost import Pricer, StoredUsage
from llmledger.pricing.resolve import PriceBook
from llmledger.pricing.rows import PriceRow, PriceTier, PriceWindow

D = Decimal
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SYNC = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
FALLBACK = PriceRow("*", "*", {"input": D(10), "output": D(30)}, source="fallback", id=99)
GPT4O_RULE = {"or": [{"equals": "gpt-4o"}, {"starts_with": "gpt-4o-20"}]}


def row(provider: str, model: str, inp: str, out: str, row_id: int, **kw: Any) -> PriceRow:
    return PriceRow(provider, model, {"input": D(inp), "output": D(out)}, id=row_id, **kw)


def event(provider: str, model: str, at: dt.datetime, **usage: int) -> UsageEvent:
    usage.setdefault("input_tokens", 1_000_000)
    return UsageEvent(event_id=uuid.uuid4(), timestamp=at, provider=provider, model=model, **usage)


def priced(rows: list[PriceRow], e: UsageEvent) -> tuple[int, str, int | None]:
    p = Pricer(PriceBook([*rows, FALLBACK])).price(e)
    return p.cost_nanos, p.cost_source, p.price_id


def test_manual_beats_litellm_beats_bundled_while_in_force() -> None:
    rows = [
        row("openai", "gpt-4o", "2.5", "10", 1, match=GPT4O_RULE),
        row("openai", "gpt-4o", "3", "10", 2, source="litellm", effective_from=SYNC),
        row(
            "openai",
            "gpt-4o",
            "1",
            "1",
            3,
            source="manual",
            effective_from=T0,
            effective_to=SYNC + dt.timedelta(days=10),
        ),
    ]
    assert priced(rows, event("openai", "gpt-4o", T0 - dt.timedelta(days=1)))[2] == 1
    assert priced(rows, event("openai", "gpt-4o", SYNC))[1:] == ("override", 3)
    assert priced(rows, event("openai", "gpt-4o", SYNC + dt.timedelta(days=11)))[1:] == (
        "catalog",
        2,
    )


def test_a_synced_snapshot_never_leaves_a_gap_before_its_first_price() -> None:
    """A LiteLLM row for the exact dated name starts at the sync; before it, the bundled entry
    whose rule covers the name still prices it (never the fallback)."""
    rows = [
        row("openai", "gpt-4o", "2.5", "10", 1, match=GPT4O_RULE),
        row("openai", "gpt-4o-2024-08-06", "2.6", "10", 2, source="litellm", effective_from=SYNC),
    ]
    before = priced(rows, event("openai", "gpt-4o-2024-08-06", SYNC - dt.timedelta(seconds=1)))
    after = priced(rows, event("openai", "gpt-4o-2024-08-06", SYNC))
    assert before == (2_500_000_000, "catalog", 1)
    assert after == (2_600_000_000, "catalog", 2)


def test_a_manual_price_on_the_base_name_wins_over_a_synced_snapshot() -> None:
    rows = [
        row("openai", "gpt-4o", "2.5", "10", 1, match=GPT4O_RULE),
        row("openai", "gpt-4o-2024-08-06", "2.6", "10", 2, source="litellm", effective_from=T0),
        row("openai", "gpt-4o", "2", "8", 3, source="manual", effective_from=SYNC),
    ]
    assert priced(rows, event("openai", "gpt-4o-2024-08-06", T0))[2] == 2
    assert priced(rows, event("openai", "gpt-4o-2024-08-06", SYNC))[1:] == ("override", 3)


def test_another_providers_override_does_not_reach_a_resellers_entry() -> None:
    rows = [
        row("openai", "gpt-4o", "2.5", "10", 1),
        row("openrouter", "openai/gpt-4o", "2.5", "10", 2),
        row("openai", "gpt-4o", "1", "1", 3, source="manual", effective_from=T0),
    ]
    assert priced(rows, event("openrouter", "openai/gpt-4o", SYNC))[2] == 2
    assert priced(rows, event("openai", "gpt-4o", SYNC))[2] == 3
    # a reseller name the catalog lacks falls through to the model's own provider
    assert priced(rows, event("someproxy", "openai/gpt-4o", SYNC))[2] == 3


def test_an_exact_name_wins_over_another_entrys_alias() -> None:
    rows = [
        row("acme", "big", "1", "1", 1, aliases=("small",)),
        row("acme", "small", "2", "2", 2),
    ]
    assert priced(rows, event("acme", "small", T0))[2] == 2
    assert priced(rows, event("acme", "BIG", T0))[2] == 1


def test_unknown_models_and_gaps_use_the_fallback() -> None:
    rows = [row("acme", "m", "1", "1", 1, effective_from=SYNC)]
    assert priced(rows, event("acme", "m", T0)) == (10_000_000_000, "fallback", 99)
    assert priced(rows, event("acme", "other", SYNC))[1:] == ("fallback", 99)
    withdrawn = row("acme", "w", "1", "1", 2, effective_from=T0, effective_to=T0)
    assert priced([withdrawn], event("acme", "w", T0))[1] == "fallback"


def test_provider_reported_cost_is_kept_and_the_row_named() -> None:
    rows = [row("openai", "gpt-4o", "2.5", "10", 1)]
    e = event("openai", "gpt-4o", T0).model_copy(update={"cost_usd": D("0.123456789")})
    assert priced(rows, e) == (123_456_789, "provider", 1)


def test_tiers_are_a_cliff_on_total_input() -> None:
    tier = PriceTier(200_000, {"input": D("2.5"), "output": D(15)})
    rows = [row("google", "gemini-2.5-pro", "1.25", "10", 1, tiers=(tier,))]
    at, out = T0, 1000
    at_edge = priced(
        rows, event("google", "gemini-2.5-pro", at, input_tokens=200_000, output_tokens=out)
    )
    above = priced(
        rows, event("google", "gemini-2.5-pro", at, input_tokens=200_001, output_tokens=out)
    )
    assert at_edge[0] == 200_000 * 1250 + out * 10_000
    assert above[0] == 200_001 * 2500 + out * 15_000


def test_absent_classes_are_billed_as_the_provider_bills_them() -> None:
    rows = [
        PriceRow(
            "acme",
            "m",
            {"input": D(2), "output": D(8), "cache_write_5m": D("2.5")},
            id=1,
        )
    ]
    usage = {
        "input_tokens": 1000,
        "cache_read_tokens": 100,  # at the input price
        "cache_write_1h_tokens": 100,  # at the 5m write price
        "input_audio_tokens": 100,  # at the input price
        "output_tokens": 1000,
        "reasoning_tokens": 400,  # at the output price
        "output_audio_tokens": 100,  # at the output price
    }
    cost = priced(rows, event("acme", "m", T0, **usage))[0]
    picos = 700 * 2_000_000 + 100 * 2_000_000 + 100 * 2_500_000 + 100 * 2_000_000
    picos += 1000 * 8_000_000
    assert cost == picos // 1000


def test_request_fees_count_per_request() -> None:
    rows = [row("perplexity", "sonar", "1", "1", 1, per_request=D("0.005"))]
    cost = priced(rows, event("perplexity", "sonar", T0, input_tokens=0, requests=3))[0]
    assert cost == 15_000_000


@pytest.mark.parametrize(
    ("clock", "expected"),
    [("00:15", 135), ("00:30", 270), ("16:29", 270), ("16:30", 135), ("23:59", 135)],
)
def test_daily_windows_replace_prices_by_utc_time_of_day(clock: str, expected: int) -> None:
    window = PriceWindow(1800, 59_400, {"input": D("0.27"), "output": D("1.1")})
    rows = [row("deepseek", "deepseek-chat", "0.135", "0.55", 1, windows=(window,))]
    at = dt.datetime.fromisoformat(f"2026-03-01T{clock}:00+00:00")
    assert priced(rows, event("deepseek", "deepseek-chat", at))[0] == expected * 1_000_000


def test_pricing_stored_usage_matches_pricing_the_event() -> None:
    rows = [row("openai", "gpt-4o", "2.5", "10", 1)]
    pricer = Pricer(PriceBook([*rows, FALLBACK]))
    e = event("openai", "gpt-4o", T0, input_tokens=1234, output_tokens=99)
    usage = StoredUsage(input_tokens=1234, output_tokens=99)
    assert pricer.price_usage("openai", "gpt-4o", T0, usage) == pricer.price(e)
