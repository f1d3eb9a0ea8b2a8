"""Groq's usage from its Prometheus metrics (``/api/v1/query_range``, Enterprise organisations):
requests and tokens in and out by model and project, as per-second rates over 5 minutes. A day's
count is the sum of rate times step over 5-minute steps — an approximation, not an invoice. Groq
reports no cost: llmledger estimates it from its own catalog, and labels it an estimate.
Needs a Groq API key of the organisation (``GROQ_API_KEY``)."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from llmledger.providers.client import Query, ReportClient
from llmledger.providers.errors import ReportError
from llmledger.providers.report import DAY_S, Report, label

KEY_VARIABLE = "GROQ_API_KEY"
#: Groq bills nothing through this API: costs are llmledger's estimates
ESTIMATES_COSTS = True
ESTIMATE_LINE_ITEM = "estimate from llmledger's catalog"
STEP_S = 300  # the metrics are 5-minute rates: one sample each 5 minutes counts each once
#: days per query: 30 days of 5-minute samples (8640) stay below Prometheus' 11000 points
CHUNK_DAYS = 30
QUERIES = {
    "input_tokens": "sum by (model, project_id) (model_project_id:tokens_in:rate5m)",
    "output_tokens": "sum by (model, project_id) (model_project_id:tokens_out:rate5m)",
    "requests": "sum by (model, project_id) (model_project_id_status_code:requests:rate5m)",
}


def client(base_url: str, key: str, **seams: Any) -> ReportClient:
    return ReportClient(
        provider="groq",
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}"},
        key_hint=KEY_VARIABLE,
        **seams,
    )


def _series(answer: dict[str, Any]) -> list[dict[str, Any]]:
    if answer.get("status") != "success":
        raise ReportError(f"groq: the metrics query failed: {answer.get('error') or answer!r:.300}")
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise ReportError("groq: the metrics answer has no data.result list")
    return [s for s in data["result"] if isinstance(s, dict)]


def _sample(point: Any) -> tuple[int, Decimal] | None:
    """A ``[timestamp, "value"]`` pair; ``None`` for a value that is not a number (NaN)."""
    if not isinstance(point, list) or len(point) != 2:
        raise ReportError(f"groq: a sample that is not [time, value]: {point!r:.100}")
    try:
        at = int(Decimal(point[0]))
        value = Decimal(str(point[1]))
    except (InvalidOperation, TypeError, ValueError):
        raise ReportError(f"groq: a sample that is not [time, value]: {point!r:.100}") from None
    if not value.is_finite():
        return None
    if value < 0:
        raise ReportError(f"groq: a negative rate {value}")
    return at, value


def fetch(api: ReportClient, report: Report) -> None:
    sums: dict[tuple[int, str, str], dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(QUERIES, Decimal(0))
    )
    for name, query in QUERIES.items():
        for first in range(report.start_day, report.end_day, CHUNK_DAYS * DAY_S):
            last = min(first + CHUNK_DAYS * DAY_S, report.end_day)
            params: Query = [
                ("query", query),
                ("start", str(first + STEP_S)),
                ("end", str(last)),
                ("step", str(STEP_S)),
            ]
            answer = api.get_json("api/v1/query_range", params)
            if api.on_page is not None:
                api.on_page("api/v1/query_range", 1)
            for series in _series(answer):
                metric = series.get("metric") or {}
                model = label(metric.get("model")).lower()
                project = label(metric.get("project_id"))
                for point in series.get("values") or []:
                    sample = _sample(point)
                    if sample is None:
                        continue
                    # a sample at t is the rate over (t - 5 min, t]: it counts for that day
                    day = report.day_of(sample[0] - STEP_S)
                    if day is not None:
                        sums[(day, project, model)][name] += sample[1] * STEP_S
    for (day, project, model), counts in sorted(sums.items()):
        whole = {k: int(v.to_integral_value(rounding=ROUND_HALF_EVEN)) for k, v in counts.items()}
        report.add_usage(
            day, project, model, {**whole, "cache_read_tokens": 0, "cache_write_tokens": 0}
        )
