"""Reconciliation over real imports (the fake OpenAI admin API on 127.0.0.1) and real tracked
events, on SQLite and PostgreSQL: planted differences — an untracked day, a mispriced model, a
project that never used the SDK — are each flagged on the right day, model or project with the
right cause, and a range with none is flagged nowhere."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from llmledger.auth.tokens import create_api_token
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.providers.imports import run_import
from llmledger.providers.reconcile import reconcile
from tests.providers import fixtures as fx
from tests.providers.fake_reports import OPENAI_KEY, Script, serve

D0, DAY = fx.D0, fx.DAY
MINI, BIG = "gpt-4o-mini", "gpt-4o"


def day(n: int) -> str:
    return dt.datetime.fromtimestamp(D0 + n * DAY, dt.UTC).date().isoformat()


#: (day, project, model) → reported (input, output, billed $) — what OpenAI says
REPORTED = {
    (0, "proj_a", MINI): (1000, 500, "1"),
    (0, "proj_a", BIG): (2000, 1000, "3"),
    (1, "proj_a", MINI): (1000, 500, "1"),  # an untracked day: no events at all
    (2, "proj_a", MINI): (1000, 500, "1"),
    (2, "proj_a", BIG): (2000, 1000, "3"),  # mispriced: tracked at $2
    (3, "proj_a", MINI): (1000, 500, "1"),
    (3, "proj_b", MINI): (4000, 1000, "2"),  # a project that never used the SDK
    (4, "proj_a", MINI): (1000, 500, "1"),
}
#: (day, org, model) → tracked (input, output, $) — what llmledger captured
TRACKED = {
    (0, "proj_a", MINI): (1000, 500, "0.995"),  # 0.5% off: within the 2% threshold
    (0, "proj_a", BIG): (2000, 1000, "3"),
    (2, "proj_a", MINI): (1000, 500, "1"),
    (2, "proj_a", BIG): (2000, 1000, "2"),
    (3, "proj_a", MINI): (1000, 500, "1"),
    (4, "proj_a", MINI): (1000, 500, "1"),
    (6, "proj_a", MINI): (9, 9, "9"),  # a day no import covered
}


def openai_buckets() -> dict[str, list[dict[str, Any]]]:
    usage: list[dict[str, Any]] = []
    costs: list[dict[str, Any]] = []
    for n in range(5):
        rows = [(k, v) for k, v in REPORTED.items() if k[0] == n]
        start = D0 + n * DAY
        bucket = {"object": "bucket", "start_time": start, "end_time": start + DAY}
        usage.append(
            {**bucket, "results": [fx.completions(m, p, i, o, 3) for (_, p, m), (i, o, _) in rows]}
        )
        cost = [fx.openai_cost(float(usd), f"{m}, input", p) for (_, p, m), (_, _, usd) in rows]
        if n == 0:  # a charge that names no model: shown, not compared
            cost.append(fx.openai_cost(5, "Web search tool calls", None))
        costs.append({**bucket, "results": cost})
    return {"/organization/usage/completions": usage, "/organization/costs": costs}


def plant(ledger: Ledger) -> None:
    events = [
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=dt.datetime.fromtimestamp(D0 + n * DAY + 12 * 3600, dt.UTC),
            provider="openai",
            model=model,
            org_id=org,
            input_tokens=i,
            output_tokens=o,
            cost_usd=Decimal(usd),
        )
        for (n, org, model), (i, o, usd) in TRACKED.items()
    ]
    # tracked traffic of a provider whose reports were never imported: not compared
    events.append(
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=dt.datetime.fromtimestamp(D0 + 12 * 3600, dt.UTC),
            provider="anthropic",
            model="claude-haiku-4-5",
            org_id="proj_a",
            input_tokens=10,
            output_tokens=10,
        )
    )
    assert ledger.write(events).accepted == len(events)
    settings = ledger.settings
    with serve(Script(openai_buckets())) as url:
        settings = settings.model_copy(update={"openai_admin_url": url})
        run_import(
            ledger.engine, settings, "openai", key=OPENAI_KEY, start_day=D0, end_day=D0 + 5 * DAY
        )


def flagged(answer: dict[str, Any], key: str) -> dict[str, str]:
    return {r[key]: r["cause"] for r in answer["rows"] if r["flagged"]}


def test_planted_differences_are_flagged_where_they_are_with_their_cause(
    ledger: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    plant(ledger)
    url = "/api/v1/admin/llm-costs/reconciliation"

    def get(**params: str) -> dict[str, Any]:
        r = client.get(url, params={"provider": "openai", **params}, headers=admin)
        assert r.status_code == 200, r.text
        return dict(r.json())

    by_day = get(startDate=day(0), endDate=day(6))
    assert flagged(by_day, "day") == {day(1): "untracked", day(2): "price", day(3): "untracked"}
    assert [r["day"] for r in by_day["rows"]] == [day(n) for n in range(5)]  # day 6: no import
    assert by_day["coverage"] == [
        {
            "provider": "openai",
            "importedDays": 5,
            "notImportedDays": 2,
            "notImportedDates": [day(5), day(6)],
        }
    ]
    first = by_day["rows"][0]
    assert first["billedCostUsd"] == 4 and first["trackedCostUsd"] == pytest.approx(3.995)
    assert first["otherChargesUsd"] == 5 and first["costDiffPercent"] == 0.12
    assert (first["trackedTokens"], first["reportedTokens"], first["reportedRequests"]) == (
        4500,
        4500,
        6,
    )
    untracked = by_day["rows"][1]
    assert (untracked["trackedCostUsd"], untracked["billedCostUsd"]) == (0, 1)
    assert untracked["tokensDiff"] == 1500 and untracked["tokensDiffPercent"] == 100
    assert "untracked" in by_day["rows"][1]["causeText"] or "outside" in untracked["causeText"]

    by_model = get(startDate=day(2), endDate=day(2), groupBy="model")
    assert flagged(by_model, "model") == {BIG: "price"}
    mispriced = next(r for r in by_model["rows"] if r["model"] == BIG)
    assert mispriced["tokensDiff"] == 0 and mispriced["costDiffUsd"] == 1
    assert mispriced["costDiffPercent"] == pytest.approx(33.33)
    assert "price" in mispriced["causeText"]

    by_project = get(startDate=day(3), endDate=day(3), groupBy="project")
    assert flagged(by_project, "project") == {"proj_b": "untracked"}
    never = next(r for r in by_project["rows"] if r["project"] == "proj_b")
    assert (never["trackedTokens"], never["reportedTokens"], never["billedCostUsd"]) == (0, 5000, 2)

    # ranges with no planted difference are flagged nowhere, whatever the grouping
    for start, end in ((0, 0), (4, 4)):
        for group in ("day", "model", "project"):
            answer = get(startDate=day(start), endDate=day(end), groupBy=group)
            assert answer["rows"] and answer["flaggedRows"] == 0, (start, group, answer)

    # every provider when none is asked for: one never imported is listed, not compared
    everyone = client.get(url, params={"startDate": day(0), "endDate": day(0)}, headers=admin)
    coverage = {c["provider"]: c["importedDays"] for c in everyone.json()["coverage"]}
    assert coverage == {"openai": 1, "anthropic": 0, "groq": 0}
    assert {r["provider"] for r in everyone.json()["rows"]} == {"openai"}


def test_the_threshold_decides_what_is_flagged(ledger: Ledger) -> None:
    plant(ledger)
    with ledger.engine.connect() as conn:
        strict = reconcile(
            conn,
            start_day=D0,
            end_day=D0 + DAY,
            group_by="model",
            drift_percent=Decimal("0.1"),
            providers=["openai"],
        )
        loose = reconcile(
            conn,
            start_day=D0 + 2 * DAY,
            end_day=D0 + 3 * DAY,
            group_by="model",
            drift_percent=Decimal("50"),
            providers=["openai"],
        )
    assert flagged(strict, "model") == {MINI: "price"}  # 0.5% off
    assert flagged(loose, "model") == {}  # 33% off


def test_bad_parameters_are_refused_and_only_admins_may_ask(
    ledger: Ledger, client: TestClient, admin: dict[str, str]
) -> None:
    url = "/api/v1/admin/llm-costs/reconciliation"
    for params, needle in (
        ({"groupBy": "week"}, "groupBy"),
        ({"startDate": "2026-11-01T00:00:00Z"}, "startDate"),
        ({"startDate": "2026-11-05", "endDate": "2026-11-01"}, "endDate"),
        ({"provider": "mistral"}, "provider"),
        ({"startDate": "1990-01-01", "endDate": "2026-01-01"}, "days"),
        ({"startDate": "0001-01-01", "endDate": "0001-01-01"}, "1970"),
    ):
        r = client.get(url, params=params, headers=admin)
        assert r.status_code == 422 and needle in r.json()["detail"], (params, r.text)
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", name="v", org_id="proj_a")[1]
    r = client.get(url, headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 403
    assert client.get(url).status_code == 401
