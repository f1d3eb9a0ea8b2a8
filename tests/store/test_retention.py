"""Pruning keeps every total, and a rebuild after a prune changes none of them: sessions that
began before the cutoff keep their whole history, and days whose raw events were pruned (even
with a shorter retention than the rebuild's) are never recounted (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store import tables as t
from llmledger.store.engine import begin_immediate
from llmledger.store.rebuild import RebuildReport, rebuild_rollups
from llmledger.store.retention import prune, pruned_before_us, retention_cutoff_us
from llmledger.store.rows import to_us

#: every table derived from the events: what "every total" is made of
DERIVED = (
    t.rollup_hour,
    t.rollup_day,
    t.rollup_hour_model,
    t.rollup_day_model,
    t.rollup_state,
    t.sessions,
    t.session_agents,
    t.user_day,
)
AGGREGATE = "/api/v1/admin/llm-costs/aggregate"


def _event(at: dt.datetime, n: int, **over: object) -> UsageEvent:
    fields: dict[str, object] = {
        "provider": "openai",
        "model": "gpt-4o",
        "org_id": "acme",
        "user_id": "u1",
        "input_tokens": 1000 + n,
        "output_tokens": 100 + n,
        "cost_usd": Decimal("2.50"),
        **over,
    }
    return UsageEvent(event_id=uuid.UUID(int=n + 1, version=4), timestamp=at, **fields)  # type: ignore[arg-type]


def _history(now: dt.datetime) -> list[UsageEvent]:
    ago = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731
    return [
        # one session that began before the cutoff and goes on today
        _event(ago(days=4), 1, session_id="long", agent="planner"),
        _event(ago(minutes=5), 2, session_id="long", agent="writer"),
        # a session wholly before it, and one wholly after
        _event(ago(days=10), 3, session_id="gone", agent="planner"),
        _event(ago(days=9, hours=3), 4, session_id="gone"),
        _event(ago(days=1), 5, session_id="recent", org_id="globex", user_id="u2"),
        _event(ago(hours=1), 6, session_id="recent", org_id="globex", user_id="u2"),
        # no session at all
        _event(ago(days=3), 7),
        _event(ago(minutes=30), 8, cost_usd=None),
    ]


def _totals(ledger: Ledger) -> dict[str, list[str]]:
    with ledger.engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in DERIVED
        }


def _rebuild(ledger: Ledger, now: dt.datetime, retention_days: int) -> RebuildReport:
    now_us = to_us(now)
    with ledger.engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            return rebuild_rollups(
                conn,
                start_us=0,
                end_us=now_us + 1,
                cutoff_us=retention_cutoff_us(now_us, retention_days),
            )


def _fingerprint(totals: dict[str, list[str]]) -> str:
    return hashlib.sha256(repr(sorted(totals.items())).encode()).hexdigest()


def test_a_rebuild_after_a_prune_changes_no_total(
    ledger: Ledger, client: TestClient, admin: dict[str, str], clock
) -> None:
    now = dt.datetime.now(dt.UTC)
    clock.now = now
    ledger.write(_history(now))
    before = _totals(ledger)
    long_before = client.get("/api/v1/admin/llm-costs/sessions/long", headers=admin).json()
    assert long_before["session"]["requests"] == 2, long_before

    assert prune(ledger.engine, now_us=to_us(now), retention_days=2) == 4
    assert _totals(ledger) == before, "pruning raw events changed a total"
    with ledger.engine.connect() as conn:
        assert pruned_before_us(conn) == retention_cutoff_us(to_us(now), 2)
        assert conn.execute(select(func.count()).select_from(t.events)).scalar_one() == 4

    # with the retention the prune used, and with the default, longer one: nothing to repair
    for retention_days in (2, 90):
        report = _rebuild(ledger, now, retention_days)
        assert report.changed == 0, (retention_days, report.differences)
        assert report.cutoff_us == retention_cutoff_us(to_us(now), 2)
        assert _totals(ledger) == before, f"a rebuild ({retention_days} days) changed a total"

    # the API's rebuild, with the app's retention (90 days)
    assert ledger.settings.retention_days == 90
    body = {"periodType": "daily", "startDate": "2020-01-01", "endDate": now.date().isoformat()}
    r = client.post(AGGREGATE, json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == 0, r.json()
    cutoff_day = (now - dt.timedelta(days=2)).date().isoformat()
    assert r.json()["retentionCutoff"].startswith(cutoff_day), r.json()
    assert _fingerprint(_totals(ledger)) == _fingerprint(before)
    long_after = client.get("/api/v1/admin/llm-costs/sessions/long", headers=admin).json()
    assert long_after["session"] == long_before["session"]


def test_a_rebuild_after_a_prune_still_repairs_what_it_can_recount(ledger: Ledger) -> None:
    now = dt.datetime.now(dt.UTC)
    ledger.write(_history(now))
    before = _totals(ledger)
    prune(ledger.engine, now_us=to_us(now), retention_days=2)
    s, h = t.sessions.c, t.rollup_hour.c
    with ledger.engine.begin() as conn:
        conn.execute(update(t.sessions).where(s.session_id == "recent").values(requests=99))
        conn.execute(update(t.rollup_hour).where(h.org_id == "globex").values(cost_nanos=1))
        conn.execute(t.session_agents.delete().where(t.session_agents.c.session_id == "recent"))
    report = _rebuild(ledger, now, 90)
    assert len(report.differences["sessions"]) == 1
    assert report.differences["rollup_hour"]
    assert _totals(ledger) == before
