"""Figures recomputed in plain Python from raw event rows: what the API must agree with."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

HOUR = 3600
DAY = 86400

FILTER_COLUMNS = {
    "orgId": "org_id",
    "provider": "provider",
    "model": "model",
    "agent": "agent",
    "userId": "user_id",
    "operation": "operation",
    "tier": "tier",
}


def s(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def hours(start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """A range widened to whole hours, in seconds."""
    a, b = start.timestamp(), end.timestamp()
    return int(a // HOUR * HOUR), int(-(-b // HOUR) * HOUR)


def pick(
    rows: Iterable[dict[str, Any]], range_: tuple[int, int], **filters: Any
) -> list[dict[str, Any]]:
    """Rows in ``range_`` (seconds) matching API-style filters (``orgId=...``, ``success=...``)."""
    return pick_us(rows, (range_[0] * 10**6, range_[1] * 10**6), **filters)


def pick_us(
    rows: Iterable[dict[str, Any]], range_: tuple[int, int], **filters: Any
) -> list[dict[str, Any]]:
    """Rows in ``range_`` (microseconds) matching API-style filters."""
    out = []
    for r in rows:
        if not range_[0] <= r["ts_us"] < range_[1]:
            continue
        if any(r[FILTER_COLUMNS[k]] != v for k, v in filters.items() if k != "success"):
            continue
        if "success" in filters and bool(r["success"]) != filters["success"]:
            continue
        out.append(r)
    return out


def sums(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    t: dict[str, int] = defaultdict(int)
    for r in rows:
        t["cost"] += r["cost_nanos"]
        t["requests"] += r["requests"]
        t["input"] += r["input_tokens"]
        t["output"] += r["output_tokens"]
        t["cache_read"] += r["cache_read_tokens"]
        t["reasoning"] += r["reasoning_tokens"]
        if r["latency_ms"] is not None:
            t["latency_sum"] += r["latency_ms"]
            t["latency_count"] += 1
        if r["success"]:
            t["ok"] += r["requests"]
        else:
            t["failed"] += r["requests"]
            t["failed_cost"] += r["cost_nanos"]
        if r["cost_source"] == "fallback":
            t["fallback_requests"] += r["requests"]
            t["fallback_cost"] += r["cost_nanos"]
    return t


def group(
    rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any]
) -> dict[Any, dict[str, int]]:
    parts: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        parts[key(r)].append(r)
    return {k: sums(v) for k, v in parts.items()}


def usd(nanos: int) -> float:
    return nanos / 10**9


def label(value: str | None) -> str | None:
    """How the API shows a stored label (absent or empty is null)."""
    return value or None
