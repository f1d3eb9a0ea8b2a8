"""What one import fetched: usage and cost rows keyed by their dimensions, summed when a
provider returns several results for one key (dimensions it was not asked to group by)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from llmledger.providers.errors import ReportError

DAY_S = 86400
USAGE_FIELDS = (
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
)

UsageKey = tuple[int, str, str]  # day, project, model
CostKey = tuple[int, str, str, str]  # day, project, line item, model
MetricKey = tuple[int, str, str, str]  # day, project, model, metric


@dataclass
class Report:
    provider: str
    start_day: int  # Unix seconds, a UTC day start
    end_day: int  # exclusive
    usage: dict[UsageKey, dict[str, int | None]] = field(default_factory=dict)
    costs: dict[CostKey, int] = field(default_factory=lambda: defaultdict(int))
    #: usage that is not tokens (images, audio seconds, vector-store bytes, ...)
    metrics: dict[MetricKey, int] = field(default_factory=lambda: defaultdict(int))

    def day_of(self, start_s: int) -> int | None:
        """The UTC day of a bucket, or ``None`` when it lies outside the range imported (a
        provider that answers more than asked must not write over days not replaced)."""
        day = start_s - start_s % DAY_S
        return day if self.start_day <= day < self.end_day else None

    def rows(
        self,
        pages: Iterable[dict[str, Any]],
        buckets: Callable[[dict[str, Any]], list[tuple[int, list[dict[str, Any]]]]],
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Each result of each page's buckets with its day; buckets outside the report's days
        are left out."""
        for page in pages:
            for start, results in buckets(page):
                day = self.day_of(start)
                if day is not None:
                    for result in results:
                        yield day, result

    def add_usage(self, day: int, project: str, model: str, counts: dict[str, int | None]) -> None:
        row = self.usage.setdefault((day, project, model), dict.fromkeys(USAGE_FIELDS, 0))
        for name in USAGE_FIELDS:
            value = counts.get(name)
            if value is None:
                if name == "requests":  # not reported: stays unknown unless another row has it
                    row[name] = row[name] if row[name] else None
                continue
            row[name] = (row[name] or 0) + value

    def add_cost(self, key: CostKey, nanos: int) -> None:
        self.costs[key] += nanos

    def add_metric(self, key: MetricKey, value: int) -> None:
        self.metrics[key] += value


def count(result: dict[str, Any], name: str, provider: str) -> int:
    """A whole, non-negative count; missing or null is 0 (every optional field is optional)."""
    value = result.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value < 0:
        raise ReportError(f"{provider}: {name} is {value!r}, not a count")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise ReportError(f"{provider}: {name} is {value}, not a whole count")
    return int(value)


def label(value: Any) -> str:
    """A dimension as stored: ``""`` for none."""
    return "" if value is None else str(value).strip()


def nanos(amount: Any, *, per_unit: int, provider: str) -> int:
    """An exact decimal amount (``per_unit`` nano-dollars each: 10**9 for dollars, 10**7 for
    cents) as whole nano-dollars, rounded half to even."""
    if isinstance(amount, bool):
        raise ReportError(f"{provider}: amount {amount!r} is not a number")
    try:
        value = Decimal(amount) if isinstance(amount, (str, int, Decimal)) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ReportError(f"{provider}: amount {amount!r} is not a number")
    return int((value * per_unit).to_integral_value(rounding=ROUND_HALF_EVEN))
