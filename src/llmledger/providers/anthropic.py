"""Anthropic's usage report (``/organizations/usage_report/messages``, by model and workspace,
with the nested ``cache_creation`` counts) and cost report (``/organizations/cost_report``,
by workspace and description; amounts are decimal strings in cents). Needs an admin key
(``ANTHROPIC_ADMIN_KEY``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from llmledger.providers.client import Query, ReportClient
from llmledger.providers.errors import ReportError
from llmledger.providers.report import Report, count, label, nanos

KEY_VARIABLE = "ANTHROPIC_ADMIN_KEY"


def client(base_url: str, key: str, **seams: Any) -> ReportClient:
    return ReportClient(
        provider="anthropic",
        base_url=base_url,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        key_hint=KEY_VARIABLE,
        **seams,
    )


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _start(bucket: dict[str, Any]) -> int:
    try:
        moment = dt.datetime.fromisoformat(str(bucket["starting_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise ReportError(
            f"anthropic: a bucket without a valid starting_at: {bucket!r:.200}"
        ) from None
    return int(moment.timestamp())


def _buckets(page: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]]]]:
    return [
        (_start(b), [r for r in (b.get("results") or []) if isinstance(r, dict)])
        for b in page["data"]
        if isinstance(b, dict)
    ]


def fetch(api: ReportClient, report: Report) -> None:
    times: Query = [("starting_at", _iso(report.start_day)), ("ending_at", _iso(report.end_day))]
    usage: Query = [
        *times,
        ("bucket_width", "1d"),
        ("limit", "31"),
        ("group_by[]", "model"),
        ("group_by[]", "workspace_id"),
    ]
    for day, r in report.rows(api.pages("organizations/usage_report/messages", usage), _buckets):
        created = r.get("cache_creation") or {}
        write = count(created, "ephemeral_5m_input_tokens", "anthropic") + count(
            created, "ephemeral_1h_input_tokens", "anthropic"
        )
        read = count(r, "cache_read_input_tokens", "anthropic")
        uncached = count(r, "uncached_input_tokens", "anthropic")
        report.add_usage(
            day,
            label(r.get("workspace_id")),
            label(r.get("model")).lower(),
            {
                "requests": None,  # the report has no request count
                "input_tokens": uncached + read + write,  # all input, as events count it
                "cache_read_tokens": read,
                "cache_write_tokens": write,
                "output_tokens": count(r, "output_tokens", "anthropic"),
            },
        )
    costs: Query = [
        *times,
        ("bucket_width", "1d"),
        ("limit", "31"),
        ("group_by[]", "workspace_id"),
        ("group_by[]", "description"),
    ]
    for day, r in report.rows(api.pages("organizations/cost_report", costs), _buckets):
        currency = label(r.get("currency") or "USD").upper()
        if currency != "USD":
            raise ReportError(f"anthropic: a cost in {currency!r}; only USD is supported")
        item = label(r.get("description") or r.get("cost_type"))
        value = nanos(r.get("amount", "0"), per_unit=10**7, provider="anthropic")
        key = (day, label(r.get("workspace_id")), item, label(r.get("model")).lower())
        report.add_cost(key, value)
