"""The usage explorer's API, ``GET /api/v1/admin/llm-costs/provider-usage``, over a real import
of the fake OpenAI admin API (127.0.0.1), on SQLite and PostgreSQL: the non-token metrics by
day, project and model, a level (bytes stored) shown by its highest day, clear 422s, admins
only."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from llmledger.auth.tokens import create_api_token
from llmledger.ledger import Ledger
from llmledger.providers.imports import run_import
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve
from tests.providers.test_provider_imports import RANGE, settings_for

URL = "/api/v1/admin/llm-costs/provider-usage"
DAYS = {"startDate": "2026-11-01", "endDate": "2026-11-03"}


@pytest.fixture
def imported(ledger: Ledger) -> Ledger:
    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        run_import(ledger.engine, settings_for(ledger, url), "openai", key=OPENAI_KEY, **RANGE)
    return ledger


def _get(client: TestClient, admin: dict[str, str], **params: str) -> Any:
    r = client.get(URL, params={**DAYS, **params}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def test_metrics_by_day_project_and_model(
    imported: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    by_day = _get(client, admin, metric="audio_seconds")
    assert [(r["day"], r["value"]) for r in by_day["rows"]] == [
        ("2026-11-01", 600),
        ("2026-11-03", 30),
    ]
    by_project = _get(client, admin, metric="audio_seconds", groupBy="project")["rows"]
    assert [(r["project"], r["value"]) for r in by_project] == [("proj_a", 600), ("proj_b", 30)]
    images = _get(client, admin, metric="images", groupBy="model")["rows"]
    assert [(r["model"], r["value"]) for r in images] == [("gpt-image-1", 4), ("dall-e-3", 2)]
    # bytes stored are a level: the project's figure is its highest day, not a sum of days
    stored = _get(client, admin, metric="vector_store_bytes", groupBy="project")["rows"]
    assert [(r["project"], r["value"]) for r in stored] == [("proj_a", 2_097_152)]
    # every metric's total, whichever is chosen; embeddings are tokens (reconciled), not here
    totals = {t["metric"]: t["value"] for t in by_day["totals"]}
    assert totals == {
        "images": 6,
        "image_requests": 3,
        "audio_seconds": 630,
        "audio_transcription_requests": 5,
        "audio_characters": 1200,
        "audio_speech_requests": 3,
        "vector_store_bytes": 2_097_152,
        "code_interpreter_sessions": 5,
        "moderation_input_tokens": 50,
        "moderation_requests": 2,
    }
    every = _get(client, admin)["rows"]
    assert len(every) == 14 and {r["provider"] for r in every} == {"openai"}
    # a day narrows every figure; another provider has none
    one = _get(client, admin, startDate="2026-11-02", endDate="2026-11-02")
    assert [(r["metric"], r["value"]) for r in one["rows"]] == [("vector_store_bytes", 2_097_152)]
    assert _get(client, admin, provider="anthropic")["rows"] == []


def test_bad_parameters_are_refused_and_only_admins_may_ask(
    ledger: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    for params, needle in (
        ({"groupBy": "week"}, "groupBy"),
        ({"metric": "tokens"}, "metric: 'tokens' is not one of images"),
        ({"startDate": "2026-11-01T00:00:00Z"}, "startDate"),
        ({"startDate": "2026-11-05", "endDate": "2026-11-01"}, "endDate"),
        ({"provider": "mistral"}, "provider"),
        ({"startDate": "1990-01-01", "endDate": "2026-01-01"}, "days"),
    ):
        r = client.get(URL, params=params, headers=admin)
        assert r.status_code == 422 and needle in str(r.json()["detail"]), (params, r.text)
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", name="v", org_id="proj_a")[1]
    assert client.get(URL, headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    assert client.get(URL).status_code == 401
