"""The usage explorer's figures: what the providers report beside tokens (images, audio
seconds and characters, vector-store bytes, code-interpreter sessions, moderation calls), by
day, project or model, from ``provider_usage_metrics`` — the one function behind
``GET /api/v1/admin/llm-costs/provider-usage`` and its page.

A metric that is a level rather than a flow (vector-store bytes: what is stored on a day) is
not added up over days: a project's or a model's figure, and the range's total, is its
highest day."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from sqlalchemy import Connection, select

from llmledger.analytics.window import iso_s
from llmledger.providers.openai_metrics import BY_NAME, METRICS, Metric
from llmledger.providers.report import DAY_S
from llmledger.providers.tables import provider_usage_metrics

GroupBy = Literal["day", "project", "model"]
GROUPS: tuple[GroupBy, ...] = ("day", "project", "model")


def metric_of(name: str) -> Metric:
    """A metric's label and unit (one the catalogue does not know shows as its name)."""
    return BY_NAME.get(name) or Metric(name, name, "")


def _day(day: int) -> str:
    return iso_s(day)[:10]


def _fold(per_day: dict[int, int], level: bool) -> int:
    return max(per_day.values(), default=0) if level else sum(per_day.values())


def usage_metrics(
    conn: Connection,
    *,
    start_day: int,
    end_day: int,
    group_by: GroupBy = "day",
    provider: str | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """``[start_day, end_day)`` (Unix seconds, whole UTC days). ``rows``: one per provider,
    metric and day, project or model (only what was reported; ``""`` is the default project,
    or no model), narrowed to ``metric`` when given. ``totals``: each metric's figure over the
    range (every metric, whichever is chosen), so a client can offer the choice."""
    m = provider_usage_metrics.c
    q = select(m.provider, m.day, m.project, m.model, m.metric, m.value).where(
        m.day >= start_day, m.day < end_day
    )
    if provider is not None:
        q = q.where(m.provider == provider)
    # (provider, metric, key) → day → value; and (provider, metric) → day → value
    groups: dict[tuple[str, str, Any], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    overall: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for got in conn.execute(q):
        overall[(got.provider, got.metric)][got.day] += got.value
        if metric is not None and got.metric != metric:
            continue
        key = {"day": got.day, "project": got.project, "model": got.model}[group_by]
        groups[(got.provider, got.metric, key)][got.day] += got.value
    order = {x.name: i for i, x in enumerate(METRICS)}

    def rank(name: str) -> tuple[int, str]:
        return order.get(name, len(order)), name

    rows: list[dict[str, Any]] = []
    for (prov, name, key), per_day in groups.items():
        value = _fold(per_day, metric_of(name).level)
        rows.append({"provider": prov, "metric": name, group_by: key, "value": value})
    if group_by == "day":
        rows.sort(key=lambda r: (r["day"], r["provider"], rank(r["metric"])))
        for r in rows:
            r["day"] = _day(r["day"])
    else:
        rows.sort(key=lambda r: (r["provider"], rank(r["metric"]), -r["value"], r[group_by]))
    totals = [
        {
            "provider": prov,
            "metric": name,
            "label": metric_of(name).label,
            "unit": metric_of(name).unit,
            "level": metric_of(name).level,
            "value": _fold(per_day, metric_of(name).level),
        }
        for (prov, name), per_day in sorted(overall.items(), key=lambda i: (i[0][0], rank(i[0][1])))
    ]
    return {
        "startDate": _day(start_day),
        "endDate": _day(end_day - DAY_S),
        "groupBy": group_by,
        "provider": provider,
        "metric": metric,
        "metrics": [
            {"metric": x.name, "label": x.label, "unit": x.unit, "level": x.level} for x in METRICS
        ],
        "totals": totals,
        "rows": rows,
    }
