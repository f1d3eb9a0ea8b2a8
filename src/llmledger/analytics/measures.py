"""Adding up rollup measures and turning sums into the figures the API shows.

Sums stay integers (nano-dollars, tokens, requests) until the last step; US dollars, rates and
averages are made only for presentation, and an average over nothing is ``null``, never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmledger.money import NANOS_PER_USD
from llmledger.store.tables import ROLLUP_MEASURES

#: what most breakdowns need from a source
CORE = ("requests", "input_tokens", "output_tokens", "cost_nanos")
#: everything ``core_json`` can show
FULL = (
    *CORE,
    "cache_read_tokens",
    "reasoning_tokens",
    "latency_ms_sum",
    "latency_count",
    "fallback_requests",
    "fallback_cost_nanos",
)


def usd(nanos: int) -> float:
    return nanos / NANOS_PER_USD


def usd_per(nanos: int, count: int) -> float | None:
    """Dollars per unit (9 decimals), ``None`` when there are no units."""
    return round(nanos / count / NANOS_PER_USD, 9) if count else None


def ratio(part: int, whole: int, digits: int = 6) -> float | None:
    return round(part / whole, digits) if whole else None


def share_percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def change_percent(current: int, previous: int) -> float | None:
    """Change against the previous figure in percent; ``None`` when there was nothing before."""
    return round((current - previous) * 100 / previous, 2) if previous else None


@dataclass
class Sums:
    """Running sums of measures; rows that carry ``success`` also split requests and cost."""

    m: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLLUP_MEASURES, 0))
    ok_requests: int = 0
    failed_requests: int = 0
    failed_cost: int = 0

    def add(self, row: Mapping[str, Any]) -> Sums:
        for key, value in row.items():
            if key in self.m:
                self.m[key] += value
        if "success" in row:
            if row["success"]:
                self.ok_requests += row.get("requests", 0)
            else:
                self.failed_requests += row.get("requests", 0)
                self.failed_cost += row.get("cost_nanos", 0)
        return self

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, Any]]) -> Sums:
        sums = cls()
        for row in rows:
            sums.add(row)
        return sums

    def __getitem__(self, key: str) -> int:
        return self.m[key]

    @property
    def cost(self) -> int:
        return self.m["cost_nanos"]

    @property
    def requests(self) -> int:
        return self.m["requests"]

    @property
    def tokens(self) -> int:
        return self.m["input_tokens"] + self.m["output_tokens"]

    @property
    def success_rate(self) -> float | None:
        return ratio(self.ok_requests, self.ok_requests + self.failed_requests)

    @property
    def avg_latency_ms(self) -> float | None:
        count = self.m["latency_count"]
        return round(self.m["latency_ms_sum"] / count, 1) if count else None

    def money(self) -> dict[str, Any]:
        """Cost, requests and tokens: the columns every breakdown row has."""
        return {
            "costUsd": usd(self.cost),
            "costNanos": self.cost,
            "requests": self.requests,
            "inputTokens": self.m["input_tokens"],
            "outputTokens": self.m["output_tokens"],
            "totalTokens": self.tokens,
        }

    def core_json(self) -> dict[str, Any]:
        """The headline figures of a range (``/global``, an organisation's totals)."""
        return {
            "costUsd": usd(self.cost),
            "costNanos": self.cost,
            "totalRequests": self.requests,
            "inputTokens": self.m["input_tokens"],
            "outputTokens": self.m["output_tokens"],
            "cacheReadTokens": self.m["cache_read_tokens"],
            "reasoningTokens": self.m["reasoning_tokens"],
            "avgLatencyMs": self.avg_latency_ms,
            "successRate": self.success_rate,
            "errorCount": self.failed_requests,
            "costOfFailedRequestsUsd": usd(self.failed_cost),
            "avgCostPerRequestUsd": usd_per(self.cost, self.requests),
            "costPerSuccessfulRequestUsd": usd_per(self.cost, self.ok_requests),
            "fallbackPricedRequests": self.m["fallback_requests"],
            "fallbackPricedCostUsd": usd(self.m["fallback_cost_nanos"]),
        }
