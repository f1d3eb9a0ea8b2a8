"""Re-pricing stored events: exact differences into every rollup in the same transactions,
provider costs kept, jobs with progress, and the property that a back-dated correction followed
by a re-price gives the same totals as if the right price had been there from the start."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.pricing import catalog
from llmledger.pricing.reprice import RepriceScope, reprice
from llmledger.pricing.rows import PriceRow
from llmledger.pricing.tables import price_rows, reprice_jobs
from llmledger.store import tables as t
from llmledger.store.rebuild import rebuild_rollups
from llmledger.store.rows import to_us
from tests.conftest import Clock

API = "/api/v1/admin/pricing"
#: the database makes no difference to what these test
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
BASE = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
ROLLUPS = (t.rollup_hour, t.rollup_day, t.sessions, t.session_agents, t.user_day)


class NoAudit:
    def record(self, conn: Any, **_: Any) -> int:
        return 0


def make_events(n: int, *, seed: int = 0) -> list[UsageEvent]:
    models = [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-2024-08-06"),
        ("acme", "acme-ft"),
        ("openrouter", "openai/gpt-4o"),
    ]
    out = []
    for i in range(n):
        provider, model = models[(i + seed) % len(models)]
        out.append(
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=BASE + dt.timedelta(hours=7 * i + seed),
                provider=provider,
                model=model,
                org_id=("acme", "globex")[i % 2],
                user_id=("u1", "u2", None)[i % 3],
                session_id=("s1", "s2", None)[i % 3],
                agent=("IRIS", None)[i % 2],
                input_tokens=1000 + 37 * i,
                cache_read_tokens=100 * (i % 3),
                output_tokens=200 + i,
                reasoning_tokens=i % 50,
                cost_usd=Decimal("0.0042") if provider == "openrouter" else None,
            )
        )
    return out


def snapshot(ledger: Ledger) -> dict[str, Any]:
    e = t.events.c
    with ledger.engine.connect() as conn:
        out: dict[str, Any] = {
            "events": sorted(
                conn.execute(select(e.event_id, e.cost_nanos, e.cost_source, e.requests)).all()
            )
        }
        for table in ROLLUPS:
            out[table.name] = sorted(tuple(r) for r in conn.execute(select(table)))
    return out


def assert_rollups_agree(ledger: Ledger) -> None:
    """A rebuild from raw events would change nothing (rollups, sessions and user-days)."""
    before = snapshot(ledger)
    with ledger.engine.connect() as conn, conn.begin() as tx:
        report = rebuild_rollups(conn, start_us=0, end_us=to_us(BASE) + 400 * 86_400_000_000)
        assert report.differences["rollup_hour"] == []
        assert report.differences["rollup_day"] == []
        assert report.differences["sessions"] == []
        for table in ROLLUPS:
            rows = sorted(tuple(r) for r in conn.execute(select(table)))
            assert rows == before[table.name], table.name
        tx.rollback()


def manual(model: str, provider: str, inp: str, out: str, start: dt.datetime) -> PriceRow:
    return PriceRow(
        provider, model, {"input": Decimal(inp), "output": Decimal(out)}, start, source="manual"
    )


def correct(ledger: Ledger, row: PriceRow) -> None:
    with catalog.price_change(ledger.engine) as conn:
        catalog.add_manual(conn, row, now=BASE, audit=NoAudit())
    ledger.reload_prices()


def reset(ledger: Ledger, *, reload: bool = True) -> None:
    with ledger.engine.begin() as conn:
        for table in (t.events, *ROLLUPS, reprice_jobs):
            conn.execute(delete(table))
        conn.execute(delete(price_rows).where(price_rows.c.source == "manual"))
    if reload:
        ledger.reload_prices()


def test_a_back_dated_correction_and_reprice_through_the_api(
    client: TestClient, admin: dict[str, str], ledger: Ledger, clock: Clock
) -> None:
    events = make_events(40)
    ledger.write(events)
    before = snapshot(ledger)
    corrected_from = BASE + dt.timedelta(days=3)
    r = client.post(
        f"{API}/models",
        headers=admin,
        json={
            "model": "gpt-4o",
            "inputPerMillion": "1",
            "outputPerMillion": "2",
            "effectiveFrom": corrected_from.isoformat(),
        },
    )
    assert r.json()["repriceSuggested"]["events"] > 0
    added = client.post(
        f"{API}/models",
        headers=admin,
        json={
            "provider": "acme",
            "model": "acme-ft",
            "inputPerMillion": "3",
            "outputPerMillion": "0",
            "effectiveFrom": "2026-01-01",
        },
    )
    assert added.status_code == 201, added.text
    job = client.post(
        f"{API}/reprice",
        headers=admin,
        json={"startDate": "2026-03-01", "endDate": "2026-03-31", "wait": True},
    )
    assert job.status_code == 200, job.text
    report = job.json()
    after = snapshot(ledger)
    old = {row[0]: row[1:] for row in before["events"]}
    new = {row[0]: row[1:] for row in after["events"]}
    changed = [k for k in old if old[k] != new[k]]
    assert report["state"] == "done" and report["progress"] == 1.0
    assert report["eventsChanged"] == len(changed) > 0
    assert report["eventsScanned"] == 30  # the provider-priced quarter is left out
    delta = sum(new[k][0] - old[k][0] for k in old)
    assert Decimal(report["costDeltaUsd"]) == Decimal(delta) / 10**9
    for e in events:
        eid = str(e.event_id)
        if e.provider == "openrouter":
            assert new[eid] == old[eid] == (4_200_000, "provider", 1)
        elif e.model == "acme-ft":
            assert new[eid][1] == "override" and old[eid][1] == "fallback"
        elif e.timestamp >= corrected_from:
            assert new[eid][1] == "override"
        else:
            assert new[eid] == old[eid]
    assert_rollups_agree(ledger)
    unpriced = client.get(f"{API}/unpriced", headers=admin).json()
    assert unpriced["models"] == []
    audits = client.get(
        "/api/v1/admin/audit-log", params={"action": "price.reprice"}, headers=admin
    )
    assert audits.json()["entries"][0]["after"]["eventsChanged"] == len(changed)


@sqlite_only
def test_a_reprice_job_reports_progress_until_done(
    client: TestClient, admin: dict[str, str], ledger: Ledger
) -> None:
    ledger.write(make_events(24))
    correct(ledger, manual("acme-ft", "acme", "1", "1", BASE))
    r = client.post(
        f"{API}/reprice",
        headers=admin,
        json={"startDate": "2026-03-01", "endDate": "2026-03-31", "model": "acme-ft"},
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["jobId"]
    deadline = time.monotonic() + 60
    while True:
        status = client.get(f"{API}/reprice/{job_id}", headers=admin).json()
        if status["state"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status["state"] == "done", status
    assert status["eventsInScope"] == status["eventsScanned"] == status["eventsChanged"] == 6
    assert status["scope"]["model"] == "acme-ft"
    assert client.get(f"{API}/reprice/{uuid.uuid4()}", headers=admin).status_code == 404
    assert_rollups_agree(ledger)


def test_scope_by_organisation_and_by_model_family(ledger: Ledger) -> None:
    ledger.write(make_events(40))
    correct(ledger, manual("gpt-4o", "openai", "1", "1", BASE))
    start, end = to_us(BASE), to_us(BASE + dt.timedelta(days=30))
    pricer = ledger.pricer()
    only_acme = reprice(
        ledger.engine, pricer, RepriceScope(start, end, org_id="acme", model="gpt-4o")
    )
    # gpt-4o and its dated snapshot, in acme only (every other event is acme's: 20 events,
    # of which the two gpt-4o names are half)
    assert only_acme.changed == 10
    rest = reprice(ledger.engine, pricer, RepriceScope(start, end), chunk=7)
    assert rest.changed == 10
    again = reprice(ledger.engine, pricer, RepriceScope(start, end))
    assert again.changed == 0 and again.delta_nanos == 0
    assert_rollups_agree(ledger)


corrections = st.tuples(
    st.sampled_from([("openai", "gpt-4o"), ("acme", "acme-ft"), ("openai", "gpt-4o-2024-08-06")]),
    st.decimals(min_value=0, max_value=50, places=3),
    st.decimals(min_value=0, max_value=90, places=2),
    st.integers(min_value=-2, max_value=12),  # days after BASE the correction takes effect
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(n=st.integers(min_value=1, max_value=30), seed=st.integers(0, 3), fix=corrections)
def test_correct_then_reprice_equals_right_from_the_start(
    ledger: Ledger, n: int, seed: int, fix: tuple[Any, ...]
) -> None:
    (provider, model), inp, out, day = fix
    start = BASE + dt.timedelta(days=day, hours=5)
    row = manual(model, provider, str(inp), str(out), start)
    events = make_events(n, seed=seed)
    scope = RepriceScope(to_us(BASE - dt.timedelta(days=3)), to_us(BASE + dt.timedelta(days=20)))

    reset(ledger)
    ledger.write(events)
    correct(ledger, row)
    reprice(ledger.engine, ledger.pricer(), scope, chunk=5)
    corrected = snapshot(ledger)
    assert_rollups_agree(ledger)

    reset(ledger, reload=False)  # the correction is made again at once
    correct(ledger, row)
    ledger.write(events)
    assert corrected == snapshot(ledger)
