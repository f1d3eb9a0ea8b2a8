"""Importing the providers' own usage and cost reports from a fake admin API on 127.0.0.1
(real HTTP, several pages a report), on SQLite and PostgreSQL: exact rows, re-imports that
change nothing, retries, a refused key and a failure halfway that leave the rows whole."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from llmledger.ledger import Ledger
from llmledger.providers.errors import ReportError
from llmledger.providers.imports import run_import
from llmledger.providers.tables import (
    provider_costs,
    provider_imports,
    provider_usage,
    provider_usage_metrics,
)
from tests.providers import fixtures as fx
from tests.providers.fake_reports import ANTHROPIC_KEY, OPENAI_KEY, Script, serve

D0, DAY = fx.D0, fx.DAY
D2 = D0 + 2 * DAY
RANGE = {"start_day": D0, "end_day": D0 + 3 * DAY}

OPENAI_USAGE = {
    (D0, "proj_a", "gpt-4o-2024-08-06"): (5, 1000, 400, 100, 500),
    (D0, "", "gpt-4o-mini"): (2, 200, 0, 0, 50),
    (D2, "proj_a", "gpt-4o-mini"): (2, 30, 0, 0, 3),
    # embeddings are tokens of tracked events: usage rows, reconciled
    (D0, "proj_a", "text-embedding-3-small"): (6, 3000, 0, 0, 0),
    (D2, "", "text-embedding-3-small"): (0, 100, 0, 0, 0),
}
D1 = D0 + DAY
#: the other usage endpoints: metric rows (day, project, model, metric) → value
OPENAI_METRICS = {
    (D0, "proj_a", "omni-moderation-latest", "moderation_input_tokens"): 50,
    (D0, "proj_a", "omni-moderation-latest", "moderation_requests"): 2,
    (D0, "proj_a", "gpt-image-1", "images"): 4,
    (D0, "proj_a", "gpt-image-1", "image_requests"): 3,
    (D2, "", "dall-e-3", "images"): 2,
    (D0, "proj_a", "tts-1", "audio_characters"): 1200,
    (D0, "proj_a", "tts-1", "audio_speech_requests"): 3,
    (D0, "proj_a", "whisper-1", "audio_seconds"): 600,
    (D0, "proj_a", "whisper-1", "audio_transcription_requests"): 4,
    (D2, "proj_b", "whisper-1", "audio_seconds"): 30,
    (D2, "proj_b", "whisper-1", "audio_transcription_requests"): 1,
    (D0, "proj_a", "", "vector_store_bytes"): 1_048_576,
    (D1, "proj_a", "", "vector_store_bytes"): 2_097_152,
    (D0, "proj_a", "", "code_interpreter_sessions"): 5,
}
OPENAI_COSTS = {
    (D0, "proj_a", "gpt-4o-2024-08-06, input", "gpt-4o-2024-08-06"): 123_456_789,
    (D0, "", "Web search tool calls", ""): 2_000_000_000,
    (D2, "proj_a", "gpt-4o-mini, output", "gpt-4o-mini"): 1550,
}
ANTHROPIC_USAGE = {
    (D0, "wrkspc_1", "claude-sonnet-4-20250514"): (None, 3200, 200, 1500, 500),
    (D0, "", "claude-sonnet-4-20250514"): (None, 10, 0, 0, 5),
    (D2, "", "claude-haiku-4-5"): (None, 0, 0, 0, 1),
}
ANTHROPIC_COSTS = {
    (
        D0,
        "wrkspc_1",
        "Claude Sonnet 4 Usage - Input Tokens",
        "claude-sonnet-4-20250514",
    ): 1_237_891_200,  # "123.78912" cents
    (D0, "", "Web Search", ""): 500_000_000,
    (D2, "", "Claude Haiku 4.5 Usage - Output Tokens", "claude-haiku-4-5"): 5_000_000,
}


def stored(ledger: Ledger, provider: str) -> tuple[dict[Any, Any], dict[Any, Any]]:
    u, c = provider_usage.c, provider_costs.c
    with ledger.engine.connect() as conn:
        usage = {
            (r.day, r.project, r.model): (
                r.requests,
                r.input_tokens,
                r.cache_read_tokens,
                r.cache_write_tokens,
                r.output_tokens,
            )
            for r in conn.execute(select(provider_usage).where(u.provider == provider))
        }
        costs = {
            (r.day, r.project, r.line_item, r.model): r.cost_nanos
            for r in conn.execute(select(provider_costs).where(c.provider == provider))
        }
    return usage, costs


def stored_metrics(ledger: Ledger) -> dict[Any, int]:
    m = provider_usage_metrics.c
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(provider_usage_metrics).where(m.provider == "openai"))
        return {(r.day, r.project, r.model, r.metric): r.value for r in rows}


def runs(ledger: Ledger) -> list[tuple[str, str, str | None]]:
    with ledger.engine.connect() as conn:
        q = select(provider_imports).order_by(provider_imports.c.id)
        return [(r.provider, r.state, r.error) for r in conn.execute(q)]


def settings_for(ledger: Ledger, url: str) -> Any:
    return ledger.settings.model_copy(update={"openai_admin_url": url, "anthropic_admin_url": url})


@pytest.mark.parametrize(
    ("provider", "key", "usage", "costs", "metrics", "paths"),
    [
        ("openai", OPENAI_KEY, OPENAI_USAGE, OPENAI_COSTS, OPENAI_METRICS, 9),
        ("anthropic", ANTHROPIC_KEY, ANTHROPIC_USAGE, ANTHROPIC_COSTS, {}, 2),
    ],
)
def test_an_import_stores_the_reports_exactly_and_again_changes_nothing(
    ledger: Ledger, provider: str, key: str, usage: Any, costs: Any, metrics: Any, paths: int
) -> None:
    script = Script(copy.deepcopy(fx.OPENAI if provider == "openai" else fx.ANTHROPIC))
    with serve(script) as url:
        settings = settings_for(ledger, url)
        first = run_import(ledger.engine, settings, provider, key=key, **RANGE)
        assert stored(ledger, provider) == (usage, costs)
        assert stored_metrics(ledger) == metrics
        assert (first.usage_rows, first.cost_rows, first.metric_rows) == (
            len(usage),
            len(costs),
            len(metrics),
        )
        again = run_import(ledger.engine, settings, provider, key=key, **RANGE)
        assert stored(ledger, provider) == (usage, costs)
        assert stored_metrics(ledger) == metrics
        assert again.id != first.id
        # a shorter range replaces only its own days
        run_import(ledger.engine, settings, provider, key=key, start_day=D0, end_day=D0 + DAY)
        assert stored(ledger, provider) == (usage, costs)
        assert stored_metrics(ledger) == metrics
    assert runs(ledger) == [(provider, "ok", None)] * 3
    assert len({p for p, _ in script.requests}) == paths
    pages = [q for p, q in script.requests if "cost" in p][:3]
    assert [("page" in q) for q in pages] == [False, True, False]  # followed next_page
    assert all(q["group_by[]"] for _, q in script.requests)


def test_429_and_500_are_retried_honouring_retry_after(ledger: Ledger) -> None:
    script = Script(
        copy.deepcopy(fx.OPENAI),
        fail=[("completions", 429, "7"), ("costs", 503, None), ("costs", 500, None)],
    )
    waits: list[float] = []
    with serve(script) as url:
        run_import(
            ledger.engine,
            settings_for(ledger, url),
            "openai",
            key=OPENAI_KEY,
            sleep=waits.append,
            **RANGE,
        )
    assert waits[0] == 7  # Retry-After
    assert len(waits) == 3 and waits[1] < waits[2]  # then backing off
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)


def test_a_refused_key_says_what_is_needed_and_changes_nothing(ledger: Ledger) -> None:
    with serve(Script(copy.deepcopy(fx.OPENAI))) as url:
        settings = settings_for(ledger, url)
        run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **RANGE)
        with pytest.raises(ReportError, match=r"organisation admin key.*OPENAI_ADMIN_KEY"):
            run_import(ledger.engine, settings, "openai", key="sk-proj-not-admin", **RANGE)
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
    last = runs(ledger)[-1]
    assert last[:2] == ("openai", "failed") and "401" in str(last[2])
    assert "sk-proj-not-admin" not in str(last[2])


def test_a_failure_halfway_leaves_the_previous_rows_whole(ledger: Ledger) -> None:
    script = Script(copy.deepcopy(fx.ANTHROPIC))
    with serve(script) as url:
        settings = settings_for(ledger, url)
        run_import(ledger.engine, settings, "anthropic", key=ANTHROPIC_KEY, **RANGE)
        # the provider now reports other figures, but its cost report fails for good after
        # the usage pages were fetched
        script.buckets["/organizations/usage_report/messages"][0]["results"][0]["output_tokens"] = 1
        script.always_fail["cost_report"] = 500
        with pytest.raises(ReportError, match="500"):
            run_import(
                ledger.engine,
                settings,
                "anthropic",
                key=ANTHROPIC_KEY,
                sleep=lambda s: None,
                **RANGE,
            )
    assert stored(ledger, "anthropic") == (ANTHROPIC_USAGE, ANTHROPIC_COSTS)
    assert [r[1] for r in runs(ledger)] == ["ok", "failed"]


def test_a_failure_in_the_other_usage_reports_leaves_every_previous_row_whole(
    ledger: Ledger,
) -> None:
    script = Script(copy.deepcopy(fx.OPENAI))
    with serve(script) as url:
        settings = settings_for(ledger, url)
        run_import(ledger.engine, settings, "openai", key=OPENAI_KEY, **RANGE)
        # new figures everywhere, then the last usage report fails for good
        script.buckets["/organization/usage/completions"][0]["results"][0]["output_tokens"] = 1
        script.buckets["/organization/usage/embeddings"][0]["results"][0]["input_tokens"] = 1
        script.buckets["/organization/usage/images"][0]["results"][0]["images"] = 30
        script.always_fail["code_interpreter_sessions"] = 500
        with pytest.raises(ReportError, match="code_interpreter_sessions answered 500"):
            run_import(
                ledger.engine, settings, "openai", key=OPENAI_KEY, sleep=lambda s: None, **RANGE
            )
    assert stored(ledger, "openai") == (OPENAI_USAGE, OPENAI_COSTS)
    assert stored_metrics(ledger) == OPENAI_METRICS
    assert [r[1] for r in runs(ledger)] == ["ok", "failed"]


def test_the_other_usage_reports_are_asked_only_for_the_groups_they_allow(
    ledger: Ledger,
) -> None:
    script = Script(copy.deepcopy(fx.OPENAI))
    with serve(script) as url:
        run_import(ledger.engine, settings_for(ledger, url), "openai", key=OPENAI_KEY, **RANGE)
    asked = {p.rsplit("/", 1)[1]: sorted(q["group_by[]"]) for p, q in script.requests}
    assert asked["vector_stores"] == asked["code_interpreter_sessions"] == ["project_id"]
    assert asked["images"] == asked["embeddings"] == ["model", "project_id"]
    assert all(q["bucket_width"] == ["1d"] for _, q in script.requests)
    # every report followed its next_page to the last page
    pages = [p for p, _ in script.requests if p.endswith("/vector_stores")]
    assert len(pages) == 2


def test_a_metric_that_is_not_a_count_is_refused(ledger: Ledger) -> None:
    buckets = copy.deepcopy(fx.OPENAI)
    buckets["/organization/usage/audio_transcriptions"][0]["results"][0]["seconds"] = 1.5
    refused = pytest.raises(ReportError, match=r"seconds is 1\.5, not a whole count")
    with serve(Script(buckets)) as url, refused:
        run_import(ledger.engine, settings_for(ledger, url), "openai", key=OPENAI_KEY, **RANGE)
    assert stored_metrics(ledger) == {}


def test_bad_ranges_and_missing_keys_are_refused(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    with pytest.raises(ReportError, match="set OPENAI_ADMIN_KEY"):
        run_import(ledger.engine, ledger.settings, "openai", **RANGE)
    with pytest.raises(ReportError, match="empty"):
        run_import(ledger.engine, ledger.settings, "openai", key="k", start_day=D0, end_day=D0)
    with pytest.raises(ReportError, match="whole UTC days"):
        run_import(ledger.engine, ledger.settings, "openai", key="k", start_day=D0 + 1, end_day=D2)
    with pytest.raises(ReportError, match="not a provider"):
        run_import(ledger.engine, ledger.settings, "mistral", key="k", **RANGE)
    assert runs(ledger) == []


def test_a_page_that_is_not_a_report_is_refused(ledger: Ledger) -> None:
    buckets = copy.deepcopy(fx.OPENAI)
    buckets["/organization/costs"][0]["results"][0]["amount"]["value"] = "lots"
    refused = pytest.raises(ReportError, match="amount 'lots' is not a number")
    with serve(Script(buckets)) as url, refused:
        run_import(ledger.engine, settings_for(ledger, url), "openai", key=OPENAI_KEY, **RANGE)
    assert stored(ledger, "openai") == ({}, {})
