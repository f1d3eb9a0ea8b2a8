"""``POST /aggregate`` ranges: one that begins before the retention cutoff is rebuilt from it
and says so; one that would rebuild nothing is a 422, and changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store import tables as t

BASE = "/api/v1/admin/llm-costs"
pytestmark = pytest.mark.xdist_group("analytics")


def _damaged(ledger: Ledger, now: dt.datetime) -> int:
    """Events of yesterday, with their day rollup's requests damaged; the damaged total."""
    start = now - dt.timedelta(days=1)
    ledger.write(
        [
            UsageEvent(
                event_id=uuid.uuid4(),
                timestamp=start + dt.timedelta(minutes=i),
                provider="openai",
                model="gpt-4o",
                input_tokens=10,
            )
            for i in range(4)
        ]
    )
    with ledger.engine.begin() as conn:
        conn.execute(update(t.rollup_hour).values(requests=t.rollup_hour.c.requests + 7))
        return int(conn.execute(select(func.sum(t.rollup_hour.c.requests))).scalar_one())


def test_a_range_begun_before_the_retention_cutoff_is_clipped_and_says_so(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock
) -> None:
    clock.now = dt.datetime.now(dt.UTC)
    _damaged(ledger, clock.now)
    body = {"periodType": "daily", "startDate": "2020-01-01", "endDate": f"{clock.now:%Y-%m-%d}"}
    r = client.post(BASE + "/aggregate", json=body, headers=admin)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["clipped"] is True
    assert out["startDate"] == out["retentionCutoff"] > "2020-01-01"
    assert out["changed"] > 0
    inside = {**body, "startDate": f"{clock.now - dt.timedelta(days=3):%Y-%m-%d}"}
    again = client.post(BASE + "/aggregate", json=inside, headers=admin).json()
    assert again["clipped"] is False and again["changed"] == 0


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2026-12-03", "2026-12-01", "endDate: must be after startDate"),
        ("2020-01-01", "2020-02-01", "endDate: the range ends before the retention cutoff"),
    ],
)
def test_a_range_that_would_rebuild_nothing_is_refused(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock, start, end, says
) -> None:
    """Both once answered 200 with nothing changed: a false all-clear."""
    clock.now = dt.datetime.now(dt.UTC)
    damaged = _damaged(ledger, clock.now)
    body = {"periodType": "daily", "startDate": start, "endDate": end}
    r = client.post(BASE + "/aggregate", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(says)
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.sum(t.rollup_hour.c.requests))).scalar_one() == damaged
