"""Groq's Prometheus metrics (a fake query_range API on 127.0.0.1) imported as usage rows with
costs estimated from llmledger's catalog and labelled estimates, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from llmledger.ledger import Ledger
from llmledger.providers.errors import ReportError
from llmledger.providers.groq import ESTIMATE_LINE_ITEM
from llmledger.providers.imports import run_import
from llmledger.providers.reconcile import reconcile
from tests.providers import fixtures as fx
from tests.providers.fake_groq import GROQ_KEY, Metrics, serve
from tests.providers.test_provider_imports import runs, stored

D0, DAY = fx.D0, fx.DAY
D1 = D0 + DAY
RANGE = {"start_day": D0, "end_day": D0 + 2 * DAY}
INSTANT = "llama-3.1-8b-instant"  # bundled price: $0.05 in, $0.08 out per 1M tokens


def steady(value: str, first: int = D0, last: int = D0 + 2 * DAY) -> object:
    """A rate over ``(first, last]``: the samples at first + 5 min ... last."""
    return lambda t: value if first < t <= last else None


def nan_at_noon(t: int) -> str | None:
    if D1 < t <= D1 + DAY:
        return "NaN" if t == D1 + 12 * 3600 else "1"
    return None


def metrics() -> Metrics:
    return Metrics(
        {
            "tokens_in": [
                ({"model": INSTANT, "project_id": "proj_g"}, steady("2")),
                ({"model": "Some-New-Model"}, nan_at_noon),  # no project label, one NaN
            ],
            "tokens_out": [({"model": INSTANT, "project_id": "proj_g"}, steady("0.5"))],
            "requests": [({"model": INSTANT, "project_id": "proj_g"}, steady("0.01"))],
        }
    )


def settings_for(ledger: Ledger, url: str):  # type: ignore[no-untyped-def]
    return ledger.settings.model_copy(update={"groq_metrics_url": url})


def test_groq_metrics_become_usage_rows_with_estimated_costs(ledger: Ledger) -> None:
    served = metrics()
    with serve(served) as url:
        settings = settings_for(ledger, url)
        run_import(ledger.engine, settings, "groq", key=GROQ_KEY, **RANGE)
        first = stored(ledger, "groq")
        run_import(ledger.engine, settings, "groq", key=GROQ_KEY, **RANGE)
        assert stored(ledger, "groq") == first
    usage, costs = first
    per_day = 288 * 300  # seconds of samples in a day
    assert usage == {
        (D0, "proj_g", INSTANT): (864, 2 * per_day, 0, 0, per_day // 2),
        (D1, "proj_g", INSTANT): (864, 2 * per_day, 0, 0, per_day // 2),
        (D1, "", "some-new-model"): (0, per_day - 300, 0, 0, 0),  # the NaN sample left out
    }
    # 172800 in x $0.05/M + 43200 out x $0.08/M; the unknown model at the fallback $10/M in
    assert costs == {
        (D0, "proj_g", ESTIMATE_LINE_ITEM, INSTANT): 12_096_000,
        (D1, "proj_g", ESTIMATE_LINE_ITEM, INSTANT): 12_096_000,
        (D1, "", ESTIMATE_LINE_ITEM, "some-new-model"): 861_000_000,
    }
    # 5-minute steps, each sample after its interval; one query per metric (2 days < 30)
    assert len(served.queries) == 2 * 3
    q = served.queries[0]
    assert (q["start"], q["end"], q["step"]) == ([str(D0 + 300)], [str(D0 + 2 * DAY)], ["300"])
    with ledger.engine.connect() as conn:
        answer = reconcile(
            conn,
            start_day=D0,
            end_day=D0 + 2 * DAY,
            group_by="model",
            drift_percent=ledger.settings.reconciliation_drift_percent,
            providers=["groq"],
        )
    assert {r["model"] for r in answer["rows"]} == {INSTANT, "some-new-model"}
    assert all(r["billedIsEstimate"] for r in answer["rows"])


@pytest.mark.parametrize("status", [403, 404])
def test_a_key_without_metrics_access_is_explained(ledger: Ledger, status: int) -> None:
    served = metrics()
    served.status = status
    with serve(served) as url, pytest.raises(ReportError, match=f"groq: .*{status}"):
        run_import(ledger.engine, settings_for(ledger, url), "groq", key=GROQ_KEY, **RANGE)
    assert stored(ledger, "groq") == ({}, {})
    assert [r[1] for r in runs(ledger)] == ["failed"]


def test_a_failed_query_is_an_error_not_an_empty_day(ledger: Ledger) -> None:
    served = metrics()
    served.series["tokens_in"][0] = ({"model": INSTANT}, lambda t: "lots")
    with serve(served) as url, pytest.raises(ReportError, match="not \\[time, value\\]"):
        run_import(ledger.engine, settings_for(ledger, url), "groq", key=GROQ_KEY, **RANGE)
    assert stored(ledger, "groq") == ({}, {})
