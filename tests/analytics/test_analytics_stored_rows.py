"""Readers survive rows that an older version stored and that cannot be shown: an event of year
0 (a timestamp of year 1 with a +14:00 offset) or one past year 9999. Such rows are written
straight into the tables (events and every rollup, through the one write transaction), then
every reader is asked through a real server on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import httpx
import pytest

from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.store.write import Prepared
from tests.support.live import LiveServer

COSTS = "/api/v1/admin/llm-costs"
#: year 1 at +14:00 is year 0 in UTC, before ``datetime.min``
YEAR_ZERO_US = (
    dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))
    - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
) // dt.timedelta(microseconds=1)
#: far past year 9999
FAR_FUTURE_US = 2**62


def _event(session: str, model: str = "gpt-4o", provider: str = "openai") -> UsageEvent:
    return UsageEvent(
        event_id=uuid.uuid4(),
        timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2),
        provider=provider,
        model=model,
        org_id="acme",
        user_id="u1",
        session_id=session,
        input_tokens=1000,
        output_tokens=100,
    )


def _store_unshowable_rows(ledger: Ledger) -> None:
    """Good events, and events whose timestamps no reader can show, in the same sessions."""
    good = [_event("poison"), _event("future"), _event("fine"), _event("x", "mystery-x", "zz")]
    bad = [_event("poison"), _event("future"), _event("x", "mystery-x", "zz")]
    prepared = ledger.writer.prepare([*good, *bad])
    rows = [list(r) for r in prepared.rows]
    for row, ts_us in zip(
        rows[len(good) :], (YEAR_ZERO_US, FAR_FUTURE_US, YEAR_ZERO_US), strict=True
    ):
        row[1] = ts_us
    batch = Prepared.of_rows([tuple(r) for r in rows], prepared.open_from)
    assert ledger.writer.submit(batch).result(timeout=60).accepted == len(rows)


@pytest.fixture
def api(ledger: Ledger, live_server: LiveServer) -> httpx.Client:
    _store_unshowable_rows(ledger)
    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as client:
        yield client


def _ok(client: httpx.Client, path: str, **params: str) -> httpx.Response:
    r = client.get(path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r


def test_sessions_that_cannot_be_shown_are_left_out_not_a_500(api, caplog):
    caplog.set_level(logging.WARNING, logger="llmledger")
    for params in ({}, {"startDate": "1970-01-01", "endDate": "2999-12-31"}, {"model": "gpt-4o"}):
        listed = _ok(api, f"{COSTS}/sessions", **params).json()["sessions"]
        assert [s["sessionId"] for s in listed] == ["fine"]
    assert "session 'poison'" in caplog.text and "session 'future'" in caplog.text
    fine = _ok(api, f"{COSTS}/sessions/fine", orgId="acme").json()
    assert fine["session"]["requests"] == 1 and len(fine["requests"]) == 1
    for session in ("poison", "future"):
        r = api.get(f"{COSTS}/sessions/{session}", params={"orgId": "acme"})
        assert r.status_code == 404, r.text


def test_every_other_reader_answers_around_them(api):
    wide = {"startDate": "1970-01-01", "endDate": "2999-12-31"}
    requests = _ok(api, f"{COSTS}/requests", **wide).json()["requests"]
    assert len(requests) == 4  # the good events; the others lie outside any window
    export = _ok(api, f"{COSTS}/export", **wide).text.strip().splitlines()
    assert len(export) == 1 + 4
    assert _ok(api, f"{COSTS}/by-org/acme", **wide).json()["totals"]["totalRequests"] == 4
    assert _ok(api, f"{COSTS}/global").json()["totalRequests"] == 4
    for path in ("/by-org", "/by-model", "/by-agent", "/by-operation", "/by-user", "/trends"):
        _ok(api, f"{COSTS}{path}")
    unpriced = _ok(api, "/api/v1/admin/pricing/unpriced").json()["models"]
    assert [(m["provider"], m["model"], m["requests"]) for m in unpriced] == [
        ("zz", "mystery-x", 2)
    ]
    assert unpriced[0]["firstSeen"] is None  # the day of the year-0 event cannot be shown
    r = api.post(
        "/api/v1/admin/pricing/models",
        json={"provider": "zz", "model": "mystery-x", "inputPerMillion": 1, "outputPerMillion": 2},
    )
    assert r.status_code == 201, r.text
    assert r.json()["repriceSuggested"]["fallbackEventsBefore"] == 2
