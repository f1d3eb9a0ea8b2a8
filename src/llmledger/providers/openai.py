"""OpenAI's organisation usage (``/organization/usage/completions``, and the other usage
endpoints: ``openai_metrics``) and costs (``/organization/costs``), daily, grouped by project
and model (by project and line item for costs). Needs an organisation admin key
(``OPENAI_ADMIN_KEY``)."""

from __future__ import annotations

from typing import Any

from llmledger.providers import openai_metrics
from llmledger.providers.client import Query, ReportClient
from llmledger.providers.errors import ReportError
from llmledger.providers.report import Report, count, label, nanos

KEY_VARIABLE = "OPENAI_ADMIN_KEY"


def client(base_url: str, key: str, **seams: Any) -> ReportClient:
    return ReportClient(
        provider="openai",
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}"},
        key_hint=KEY_VARIABLE,
        **seams,
    )


def model_of(line_item: str) -> str:
    """The model a cost line item names (``"gpt-4o-mini, input"`` → ``gpt-4o-mini``), or ``""``.
    The format is not documented: a line item without a comma names no model."""
    head, sep, _ = line_item.rpartition(",")
    return head.strip().lower() if sep else ""


def _buckets(page: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]]]]:
    out = []
    for bucket in page["data"]:
        start = bucket.get("start_time") if isinstance(bucket, dict) else None
        if start is None:
            continue
        results = bucket.get("results") or []
        out.append((int(start), [r for r in results if isinstance(r, dict)]))
    return out


def fetch(api: ReportClient, report: Report) -> None:
    times: Query = [("start_time", str(report.start_day)), ("end_time", str(report.end_day))]
    usage: Query = [
        *times,
        ("bucket_width", "1d"),
        ("limit", "31"),
        ("group_by[]", "project_id"),
        ("group_by[]", "model"),
    ]
    for day, r in report.rows(api.pages("organization/usage/completions", usage), _buckets):
        report.add_usage(
            day,
            label(r.get("project_id")),
            label(r.get("model")).lower(),
            {
                "requests": count(r, "num_model_requests", "openai"),
                "input_tokens": count(r, "input_tokens", "openai"),
                "cache_read_tokens": count(r, "input_cached_tokens", "openai"),
                "cache_write_tokens": count(r, "input_cache_write_tokens", "openai"),
                "output_tokens": count(r, "output_tokens", "openai"),
            },
        )
    openai_metrics.fetch(api, report, times, _buckets)
    costs: Query = [
        *times,
        ("bucket_width", "1d"),
        ("limit", "180"),
        ("group_by[]", "project_id"),
        ("group_by[]", "line_item"),
    ]
    for day, r in report.rows(api.pages("organization/costs", costs), _buckets):
        amount = r.get("amount") or {}
        currency = label(amount.get("currency") or "usd").lower()
        if currency != "usd":
            raise ReportError(f"openai: a cost in {currency!r}; only USD is supported")
        item = label(r.get("line_item"))
        value = nanos(amount.get("value", 0), per_unit=10**9, provider="openai")
        report.add_cost((day, label(r.get("project_id")), item, model_of(item)), value)
