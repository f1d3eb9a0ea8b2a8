"""OpenAI's usage endpoints beside completions: embeddings, moderations, images, audio
speeches and transcriptions, vector stores and code-interpreter sessions, daily.

Embeddings are tokens llmledger tracks (its OpenAI wrapper records embedding calls), so they
join ``provider_usage`` and reconciliation compares them. The rest are not tokens of a tracked
event — images, audio seconds and characters, vector-store bytes, sessions, and moderation
calls (which OpenAI does not bill and capture does not record) — and become metric rows
(``provider_usage_metrics``), one per day, project, model and metric."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmledger.providers.client import Query, ReportClient
from llmledger.providers.report import Report, count, label


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    #: a level (bytes stored on a day) is not added up over days: its peak day is shown
    level: bool = False


#: every metric, in the order pages show them
METRICS = (
    Metric("images", "Images", "images"),
    Metric("image_requests", "Image requests", "requests"),
    Metric("audio_seconds", "Audio transcribed", "seconds"),
    Metric("audio_transcription_requests", "Transcription requests", "requests"),
    Metric("audio_characters", "Speech characters", "characters"),
    Metric("audio_speech_requests", "Speech requests", "requests"),
    Metric("vector_store_bytes", "Vector-store bytes", "bytes", level=True),
    Metric("code_interpreter_sessions", "Code-interpreter sessions", "sessions"),
    Metric("moderation_input_tokens", "Moderation input tokens", "tokens"),
    Metric("moderation_requests", "Moderation requests", "requests"),
)
BY_NAME = {m.name: m for m in METRICS}


@dataclass(frozen=True)
class Endpoint:
    path: str
    #: by model too, or by project only
    by_model: bool
    #: result field → metric
    fields: tuple[tuple[str, str], ...]


ENDPOINTS = (
    Endpoint(
        "moderations",
        True,
        (
            ("input_tokens", "moderation_input_tokens"),
            ("num_model_requests", "moderation_requests"),
        ),
    ),
    Endpoint("images", True, (("images", "images"), ("num_model_requests", "image_requests"))),
    Endpoint(
        "audio_speeches",
        True,
        (("characters", "audio_characters"), ("num_model_requests", "audio_speech_requests")),
    ),
    Endpoint(
        "audio_transcriptions",
        True,
        (("seconds", "audio_seconds"), ("num_model_requests", "audio_transcription_requests")),
    ),
    Endpoint("vector_stores", False, (("usage_bytes", "vector_store_bytes"),)),
    Endpoint("code_interpreter_sessions", False, (("num_sessions", "code_interpreter_sessions"),)),
)


def _query(times: Query, *, by_model: bool) -> Query:
    group = [("group_by[]", "project_id")] + ([("group_by[]", "model")] if by_model else [])
    return [*times, ("bucket_width", "1d"), ("limit", "31"), *group]


Buckets = Callable[[dict[str, Any]], list[tuple[int, list[dict[str, Any]]]]]


def fetch(api: ReportClient, report: Report, times: Query, buckets: Buckets) -> None:
    """Every page of every endpoint for the report's days, into its usage and metrics;
    ``buckets`` reads a page's buckets (the envelope is the completions')."""
    pages = api.pages("organization/usage/embeddings", _query(times, by_model=True))
    for day, r in report.rows(pages, buckets):
        report.add_usage(
            day,
            label(r.get("project_id")),
            label(r.get("model")).lower(),
            {
                "requests": count(r, "num_model_requests", "openai"),
                "input_tokens": count(r, "input_tokens", "openai"),
            },
        )
    for endpoint in ENDPOINTS:
        path = f"organization/usage/{endpoint.path}"
        pages = api.pages(path, _query(times, by_model=endpoint.by_model))
        for day, r in report.rows(pages, buckets):
            project = label(r.get("project_id"))
            model = label(r.get("model")).lower() if endpoint.by_model else ""
            for field, metric in endpoint.fields:
                value = count(r, field, "openai")
                if value:
                    report.add_metric((day, project, model, metric), value)
