"""Sessions, the request log and the CSV export, against raw events."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from llmledger.analytics.export import export_csv
from llmledger.analytics.filters import Filters
from llmledger.analytics.sessions import _walk_by_cost
from llmledger.analytics.window import Window
from tests.analytics.conftest import DataSet
from tests.analytics.recount import group, pick, s

pytestmark = pytest.mark.xdist_group("analytics")

NOV = {"startDate": "2026-11-01", "endDate": "2026-11-19"}
NOV_RANGE = (
    s(dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
    s(dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
)


def _sessions(data: DataSet) -> dict[tuple[str, str], dict]:
    """Whole-session figures from every raw event of each session."""
    out = {}
    for key, rows in group(
        [r for r in data.rows if r["session_id"]], lambda r: (r["org_id"], r["session_id"])
    ).items():
        out[key] = rows
    return out


def _active(data: DataSet) -> set[tuple[str, str]]:
    first_last: dict[tuple[str, str], list[int]] = {}
    for r in data.rows:
        if r["session_id"]:
            k = (r["org_id"], r["session_id"])
            fl = first_last.setdefault(k, [r["ts_us"], r["ts_us"]])
            fl[0], fl[1] = min(fl[0], r["ts_us"]), max(fl[1], r["ts_us"])
    return {
        k for k, (a, b) in first_last.items() if b >= NOV_RANGE[0] * 1e6 and a < NOV_RANGE[1] * 1e6
    }


@pytest.mark.parametrize("sort_by", ["cost", "requests", "duration"])
def test_sessions_sorted_with_whole_session_figures(data: DataSet, sort_by: str) -> None:
    out = data.get("/sessions", sortBy=sort_by, limit=20, **NOV)
    assert out["answeredFrom"] == "sessions"
    whole = _sessions(data)
    active = _active(data)
    listed = [(x["orgId"] or "", x["sessionId"]) for x in out["sessions"]]
    assert len(listed) == min(20, len(active))
    assert set(listed) <= active
    for x in out["sessions"]:
        t = whole[(x["orgId"] or "", x["sessionId"])]
        assert (x["costNanos"], x["requests"], x["inputTokens"]) == (
            t["cost"],
            t["requests"],
            t["input"],
        )
    key = {"cost": "costNanos", "requests": "requests", "duration": "durationMinutes"}[sort_by]
    values = [x[key] for x in out["sessions"]]
    assert values == sorted(values, reverse=True)
    biggest = sorted(active, key=lambda k: -whole[k]["cost"])[0] if sort_by == "cost" else None
    if biggest:
        assert listed[0] == biggest


def test_sessions_filtered_by_model_come_from_raw_events(data: DataSet) -> None:
    out = data.get("/sessions", model="gpt-4o", minCostUsd=0.01, limit=1000, **NOV)
    assert out["answeredFrom"] == "events"
    matching = {(r["org_id"], r["session_id"]) for r in pick(data.rows, NOV_RANGE, model="gpt-4o")}
    whole = _sessions(data)
    expected = {k for k in matching if k[1] and whole[k]["cost"] >= 10**7}
    assert {(x["orgId"] or "", x["sessionId"]) for x in out["sessions"]} == expected


def test_session_detail_lists_requests_in_order(data: DataSet) -> None:
    top = data.get("/sessions", **NOV)["sessions"][0]
    out = data.get(f"/sessions/{top['sessionId']}", orgId=top["orgId"])
    rows = sorted(
        (
            r
            for r in data.rows
            if r["session_id"] == top["sessionId"] and (r["org_id"] or None) == top["orgId"]
        ),
        key=lambda r: (r["ts_us"], r["id"]),
    )
    assert [x["eventId"] for x in out["requests"]] == [r["event_id"] for r in rows]
    assert out["session"]["costNanos"] == sum(r["cost_nanos"] for r in rows)
    first = out["requests"][0]
    assert {"agentSessionId", "agentExecutionId", "agentPlanId", "latencyMs"} <= set(first)
    r = data.client.get("/api/v1/admin/llm-costs/sessions/nope", headers=data.admin)
    assert r.status_code == 404


def test_request_log_pages_cover_the_window_once_newest_first(data: DataSet) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {**NOV, "limit": 37, "provider": "openai"}
        if cursor:
            params["cursor"] = cursor
        page = data.get("/requests", **params)
        seen += [x["eventId"] for x in page["requests"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    rows = sorted(
        pick(data.rows, NOV_RANGE, provider="openai"),
        key=lambda r: (r["ts_us"], r["id"]),
        reverse=True,
    )
    assert seen == [r["event_id"] for r in rows]
    bad = data.client.get(
        "/api/v1/admin/llm-costs/requests", params={"cursor": "garbage!"}, headers=data.admin
    )
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("cursor")


def test_export_streams_every_event_with_exact_cost_and_no_formulas(data: DataSet) -> None:
    r = data.client.get("/api/v1/admin/llm-costs/export", params=NOV, headers=data.admin)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(r.text)))
    rows = sorted(pick(data.rows, NOV_RANGE), key=lambda x: (x["ts_us"], x["id"]))
    assert [x["eventId"] for x in lines] == [x["event_id"] for x in rows]
    for line, row in zip(lines, rows, strict=True):
        whole, frac = divmod(row["cost_nanos"], 10**9)
        assert line["costUsd"] == f"{whole}.{frac:09d}"
        assert line["cacheWrite5mTokens"] == str(row["cache_write_5m_tokens"])
        for cell in line.values():
            assert not cell.startswith(("=", "+", "@")), cell
            assert not cell.startswith("-") or cell[1:].isdigit(), cell
    assert any(x["agent"] == "'=HYPERLINK(1)" for x in lines)
    assert any(x["userId"] == "'-shared" for x in lines)


def test_export_pages_in_small_chunks(data: DataSet) -> None:
    window = Window(NOV_RANGE[0] * 10**6, NOV_RANGE[1] * 10**6)
    pieces = list(export_csv(data.ledger.engine, window=window, filters=Filters(), chunk=7))
    text = "".join(pieces)
    assert len(pieces) > 10
    ids = [x["eventId"] for x in csv.DictReader(io.StringIO(text))]
    assert len(ids) == len(set(ids)) == len(pick(data.rows, NOV_RANGE))


def test_costliest_sessions_by_walking_the_cost_index_agree(data: DataSet) -> None:
    wide = {"startDate": "2026-10-01", "endDate": "2026-11-20"}
    window = Window(s(dt.datetime(2026, 10, 1, tzinfo=dt.UTC)) * 10**6, NOV_RANGE[1] * 10**6)
    with data.ledger.engine.connect() as conn:
        assert _walk_by_cost(conn, window, Filters(), limit=1)
        assert not _walk_by_cost(conn, window, Filters(), limit=1000)
    sorted_all = data.get("/sessions", limit=1000, **wide)["sessions"]
    for limit in (1, 2):
        walked = data.get("/sessions", limit=limit, **wide)["sessions"]
        assert walked == sorted_all[:limit]
    acme = data.get("/sessions", limit=1000, orgId="acme", **wide)["sessions"]
    assert data.get("/sessions", limit=1, orgId="acme", **wide)["sessions"] == acme[:1]
