"""Parameters: 422s that name the parameter, access rules, rollup repair, paging under inserts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from llmledger.auth.tokens import create_api_token
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store import tables as t
from tests.analytics.conftest import DataSet

BASE = "/api/v1/admin/llm-costs"
pytestmark = pytest.mark.xdist_group("analytics")


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/global", {"startDate": "soon"}, "startDate"),
        ("/global", {"endDate": "2026-02-30"}, "endDate"),
        ("/global", {"orgId": " "}, "orgId"),
        ("/global", {"success": "maybe"}, "success"),
        ("/global", {"provider": "x" * 300}, "provider"),
        ("/by-org", {"sortBy": "size"}, "sortBy"),
        ("/by-org", {"sortOrder": "up"}, "sortOrder"),
        ("/by-org", {"minCostCents": "-1"}, "minCostCents"),
        ("/by-org", {"limit": "0"}, "limit"),
        ("/by-org", {"offset": "99999999999999999999"}, "offset"),
        ("/trends", {"groupBy": "year"}, "groupBy"),
        ("/trends", {"splitBy": "user"}, "splitBy"),
        ("/trends", {"days": "0"}, "days"),
        ("/sessions", {"minCostUsd": "nan"}, "minCostUsd"),
        ("/sessions", {"sortBy": "cost; drop table"}, "sortBy"),
        ("/requests", {"cursor": "AAAA"}, "cursor"),
        ("/forecast", {"horizonDays": "1000"}, "horizonDays"),
        ("/what-if", {}, "asModel"),
        ("/by-user", {"userId": "a\x00b"}, "userId"),
    ],
)
def test_invalid_values_get_422_naming_the_parameter(
    data: DataSet, path: str, params: dict, param: str
) -> None:
    r = data.client.get(BASE + path, params=params, headers=data.admin)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(param), r.json()


def test_auth(client: TestClient, ledger: Ledger, ingest_key_for) -> None:
    assert client.get(BASE + "/global").status_code == 401
    assert client.get(BASE + "/global", headers=ingest_key_for("acme")).status_code == 403
    with ledger.engine.begin() as conn:
        viewer = create_api_token(conn, role="viewer", name="v", org_id="acme")[1]
    r = client.post(
        BASE + "/aggregate",
        json={"periodType": "daily", "startDate": "2026-11-01", "endDate": "2026-11-02"},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert r.status_code == 403


def _events(start: dt.datetime, n: int, **over) -> list[UsageEvent]:
    return [
        UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=start + dt.timedelta(minutes=37 * i),
            provider="openai",
            model="gpt-4o",
            org_id="acme",
            input_tokens=1000 + i,
            output_tokens=100,
            **over,
        )
        for i in range(n)
    ]


def test_aggregate_repairs_damaged_rollups(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock
) -> None:
    clock.now = dt.datetime.now(dt.UTC)
    start = dt.datetime.combine(clock.now.date() - dt.timedelta(days=3), dt.time(), dt.UTC)
    ledger.write(_events(start, 60))
    day = int(start.timestamp())
    with ledger.engine.begin() as conn:
        conn.execute(update(t.rollup_day).values(cost_nanos=t.rollup_day.c.cost_nanos + 5))
        conn.execute(t.rollup_hour.delete().where(t.rollup_hour.c.bucket < day + 7200))
        # /global answers from the narrow rollups: damage them the same way
        m = t.rollup_day_model
        conn.execute(update(m).values(cost_nanos=m.c.cost_nanos + 5))
        conn.execute(t.rollup_hour_model.delete().where(t.rollup_hour_model.c.bucket < day + 7200))
    params = {"startDate": start.date().isoformat(), "endDate": start.date().isoformat()}
    broken = client.get(BASE + "/global", params=params, headers=admin).json()
    r = client.post(BASE + "/aggregate", json={"periodType": "hourly", **params}, headers=admin)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["changed"] > 0
    assert next(iter(out["differences"])) == "rollup_hour"
    assert out["differences"]["rollup_day"] == 1
    fixed = client.get(BASE + "/global", params=params, headers=admin).json()
    with ledger.engine.connect() as conn:
        e = t.events.c
        raw = conn.execute(
            select(func.sum(e.cost_nanos)).where(
                e.ts_us >= day * 10**6, e.ts_us < (day + 86400) * 10**6
            )
        ).scalar_one()
    assert fixed["costNanos"] == raw != broken["costNanos"]
    bad = client.post(
        BASE + "/aggregate",
        json={"periodType": "weekly", "startDate": "x", "endDate": "y"},
        headers=admin,
    )
    assert bad.status_code == 422


def test_request_log_is_stable_under_concurrent_inserts(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock
) -> None:
    clock.now = dt.datetime.now(dt.UTC)
    start = clock.now - dt.timedelta(days=2)
    first = _events(start, 30)
    ledger.write(first)
    params = {"startDate": (start - dt.timedelta(hours=1)).isoformat(), "limit": 10}
    page = client.get(BASE + "/requests", params=params, headers=admin).json()
    seen = [x["eventId"] for x in page["requests"]]
    # newer events, and a late one inside the part still to be paged
    ledger.write(_events(clock.now - dt.timedelta(minutes=50), 5))
    ledger.write(_events(start + dt.timedelta(minutes=1), 1))
    while page["nextCursor"]:
        page = client.get(
            BASE + "/requests", params={**params, "cursor": page["nextCursor"]}, headers=admin
        ).json()
        seen += [x["eventId"] for x in page["requests"]]
    assert len(seen) == len(set(seen)) == 31
    assert set(seen) >= {str(e.event_id) for e in first}


def test_session_ids_shared_by_two_organisations(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock
) -> None:
    clock.now = dt.datetime.now(dt.UTC)
    start = clock.now - dt.timedelta(hours=5)
    ledger.write(_events(start, 2, session_id="same"))
    other = _events(start, 1, session_id="same")
    ledger.write([other[0].model_copy(update={"org_id": "globex"})])
    r = client.get(BASE + "/sessions/same", headers=admin)
    assert r.status_code == 422 and r.json()["detail"].startswith("orgId")
    r = client.get(BASE + "/sessions/same", params={"orgId": "globex"}, headers=admin)
    assert r.status_code == 200 and len(r.json()["requests"]) == 1


def test_reference_page_needs_nothing_from_outside(data: DataSet) -> None:
    r = data.client.get("/api/reference", headers=data.admin)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "/openapi.json" in page
    assert "http://" not in page and "https://" not in page
    assert "default-src 'self'" in r.headers["content-security-policy"]
    spec = data.client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        if path.startswith(BASE) and "get" in item and path != BASE + "/export":
            schema = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            assert "$ref" in schema, path
