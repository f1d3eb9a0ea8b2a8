"""Demo figures for the usage explorer: what an OpenAI organisation's usage reports would
hold beside tokens — images, audio, vector stores, code-interpreter sessions, moderations —
for the demo's days, by project (the demo's largest organisations, as OpenAI projects) and
model. Deterministic per seed.

They are written straight into ``provider_usage_metrics`` under no import run
(``import_id`` 0): logging a run would tell reconciliation that the days were imported, and
the demo holds no report of their tokens."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import Connection, delete, insert

from llmledger.providers.report import DAY_S
from llmledger.providers.tables import provider_usage_metrics

DEMO_IMPORT_ID = 0
#: projects (the demo's largest organisations) and how much of the traffic each makes
PROJECTS = (("acme", 1.0), ("globex", 0.6), ("initech", 0.35), ("", 0.15))
#: (model, metric, daily mean per unit of project size, the metric of its requests, size)
MODELS = (
    ("gpt-image-1", "images", 120, "image_requests", 40),
    ("dall-e-3", "images", 30, "image_requests", 30),
    ("whisper-1", "audio_seconds", 5400, "audio_transcription_requests", 90),
    ("gpt-4o-transcribe", "audio_seconds", 2400, "audio_transcription_requests", 30),
    ("tts-1", "audio_characters", 90_000, "audio_speech_requests", 900),
    ("omni-moderation-latest", "moderation_input_tokens", 60_000, "moderation_requests", 300),
)


def write_demo_usage_metrics(
    conn: Connection, *, days: int, now: dt.datetime, seed: int = 7
) -> int:
    """Replace the demo's metric rows of OpenAI for the ``days`` UTC days up to ``now``'s;
    returns how many rows were written."""
    rng = random.Random(seed * 31 + 5)
    today = int(now.timestamp()) // DAY_S * DAY_S
    first = today - (days - 1) * DAY_S
    rows = []
    stored = {p: 50_000_000 * size for p, size in PROJECTS}
    for n in range(days):
        day = first + n * DAY_S
        weekday = dt.datetime.fromtimestamp(day, dt.UTC).weekday()
        busy = 0.45 if weekday >= 5 else 1.0
        growth = 0.6 + 0.4 * n / max(1, days - 1)
        for project, size in PROJECTS:
            scale = size * busy * growth
            for model, metric, mean, requests_metric, per_request in MODELS:
                value = int(rng.lognormvariate(0, 0.35) * mean * scale)
                if value <= 0:
                    continue
                rows.append((day, project, model, metric, value))
                calls = max(1, value // per_request)
                rows.append((day, project, model, requests_metric, calls))
            stored[project] *= 1 + rng.uniform(0.0, 0.03)  # stores grow, a little each day
            rows.append((day, project, "", "vector_store_bytes", int(stored[project])))
            sessions = int(rng.lognormvariate(0, 0.5) * 40 * scale)
            if sessions:
                rows.append((day, project, "", "code_interpreter_sessions", sessions))
    m = provider_usage_metrics.c
    conn.execute(
        delete(provider_usage_metrics).where(
            m.provider == "openai", m.day >= first, m.day <= today, m.import_id == DEMO_IMPORT_ID
        )
    )
    conn.execute(
        insert(provider_usage_metrics),
        [
            {
                "provider": "openai",
                "day": d,
                "project": p,
                "model": model,
                "metric": metric,
                "value": v,
                "import_id": DEMO_IMPORT_ID,
            }
            for d, p, model, metric, v in rows
        ],
    )
    return len(rows)
