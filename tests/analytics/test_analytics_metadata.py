"""An event's ``metadata`` comes back, as it was sent, from every answer that shows requests:
the request log, a session's timeline, an organisation's recent requests and the CSV export
(SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid

from fastapi.testclient import TestClient

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger

BASE = "/api/v1/admin/llm-costs"
#: what the SDK sends when a response carried no usage, and a richer object beside it
MISSING = {"usageMissing": True}
RICH = {"ab": "variant-b", "n": 3, "nested": {"list": [1, 2.5, None], "é": "ü"}}


def _events(now: dt.datetime) -> list[UsageEvent]:
    return [
        UsageEvent(
            event_id=uuid.UUID(int=i + 1, version=4),
            timestamp=now - dt.timedelta(minutes=10 * (i + 1)),
            provider="openai",
            model="gpt-4o",
            org_id="acme",
            session_id="s1",
            input_tokens=0 if meta == MISSING else 1000,
            output_tokens=0 if meta == MISSING else 10,
            metadata=meta,
        )
        for i, meta in enumerate([MISSING, RICH, None])
    ]


def test_requests_carry_their_metadata(
    client: TestClient, ledger: Ledger, admin: dict[str, str], clock
) -> None:
    now = clock.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    events = _events(now)
    ledger.write(events)
    sent = {str(e.event_id): e.metadata for e in events}
    window = {
        "startDate": (now - dt.timedelta(hours=1)).isoformat(),
        "endDate": (now + dt.timedelta(minutes=1)).isoformat(),
    }

    log = client.get(f"{BASE}/requests", params=window, headers=admin)
    assert log.status_code == 200, log.text
    assert {r["eventId"]: r["metadata"] for r in log.json()["requests"]} == sent

    session = client.get(f"{BASE}/sessions/s1", headers=admin)
    assert session.status_code == 200, session.text
    assert {r["eventId"]: r["metadata"] for r in session.json()["requests"]} == sent

    org = client.get(f"{BASE}/by-org/acme", params=window, headers=admin)
    assert org.status_code == 200, org.text
    assert {r["eventId"]: r["metadata"] for r in org.json()["recentRequests"]} == sent

    export = client.get(f"{BASE}/export", params=window, headers=admin)
    assert export.status_code == 200, export.text
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert list(rows[0])[-1] == "metadata"  # added last: the columns before keep their places
    assert {
        r["eventId"]: json.loads(r["metadata"]) if r["metadata"] else None for r in rows
    } == sent
