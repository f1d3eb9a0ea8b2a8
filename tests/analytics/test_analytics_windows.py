"""Every analytics endpoint counts exactly the window asked, to the microsecond: asked the same
window with odd edges, each one's figures equal a recount of the raw events in it and the sums
of ``/export`` (SQLite and PostgreSQL). Past the retention, edges are widened and the answer
says to what."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from llmledger.auth.tokens import create_api_token
from llmledger.events import UsageEvent
from llmledger.ingest.writer import EventWriter
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.store import tables as t
from llmledger.store.retention import prune
from llmledger.store.rows import to_us
from tests.analytics.conftest import AGENTS, MODELS, OPERATIONS, ORGS, TIERS, DataSet, _open
from tests.analytics.recount import DAY, HOUR, group, label, pick_us, sums, usd
from tests.support.open_days import reopen

BASE = "/api/v1/admin/llm-costs"
FIRST = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)
#: days from here on are open (hourly rollups only); the days before are closed
OPEN = dt.datetime(2026, 11, 11, tzinfo=dt.UTC)
LAST = dt.datetime(2026, 11, 12, 12, tzinfo=dt.UTC)
#: the app's clock: some events lie after it (a client's clock ahead of ours)
NOW = dt.datetime(2026, 11, 12, 9, 41, 27, tzinfo=dt.UTC)
USERS = ["u1", "u2", "u3", None]

WINDOWS = {
    "hours": ("2026-11-10T01:52:08Z", "2026-11-10T03:53:41Z"),
    "days": ("2026-11-10T22:52:08Z", "2026-11-12T01:53:41Z"),  # closed, open, open
    "in an hour": ("2026-11-11T03:10:00.250001Z", "2026-11-11T05:40:00+02:00"),
}
FILTERS: list[dict[str, Any]] = [{}, {"userId": "u1"}, {"model": "gpt-4o"}, {"agent": "IRIS"}]

pytestmark = pytest.mark.xdist_group("analytics")


def us(text: str) -> int:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def spread(start: dt.datetime, end: dt.datetime, seed: int = 3) -> list[UsageEvent]:
    """An event every 157 s, so every partial hour at a window's edge holds some."""
    rng = random.Random(seed)
    out = []
    moment = start
    while moment < end:
        provider, model = rng.choice(MODELS)
        # about 20 consecutive events (50 minutes) share a session id: windows cut sessions
        session = f"s{len(out) // 20}" if rng.random() < 0.8 else None
        inp = rng.randint(0, 20_000)
        out.append(
            UsageEvent(
                event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                timestamp=moment + dt.timedelta(microseconds=rng.randrange(10**6)),
                provider=provider,
                model=model,
                org_id=rng.choice(ORGS),
                user_id=rng.choice(USERS),
                agent=rng.choice(AGENTS),
                session_id=session,
                operation=rng.choice(OPERATIONS),
                tier=rng.choice(TIERS),
                input_tokens=inp,
                cache_read_tokens=rng.randint(0, inp) if rng.random() < 0.4 else 0,
                output_tokens=rng.randint(0, 3000),
                requests=rng.choice([1, 1, 2]),
                latency_ms=None if rng.random() < 0.1 else rng.randint(50, 9000),
                success=rng.random() > 0.12,
                cost_usd=Decimal(rng.randint(0, 9_000_000)) / 10**9
                if provider == "openrouter"
                else None,
            )
        )
        moment += dt.timedelta(seconds=157)
    return out


def write_spread(ledger: Ledger) -> list[dict[str, Any]]:
    """The events, written by a writer whose clock reads the first open day (so it folds
    nothing); returns them as stored."""
    reopen(ledger.engine, int(OPEN.timestamp()))
    writer = EventWriter(ledger.engine, ledger.pricer, clock_us=lambda: to_us(OPEN) + 3600e6)
    writer.write(spread(FIRST, LAST))
    with ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t.events))]


def serve(ledger: Ledger, rows: list[dict[str, Any]], now: dt.datetime, backend: str) -> DataSet:
    with ledger.engine.begin() as conn:
        admin = create_api_token(conn, role="admin", name="windows admin")[1]
    client = TestClient(create_app(ledger=ledger, clock=lambda: now), base_url="http://testserver")
    return DataSet(ledger, client, {"Authorization": f"Bearer {admin}"}, rows, now, backend)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def edges(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DataSet]:
    ledger, cleanup = _open(request.param, tmp_path_factory.mktemp("windows"), request)
    ledger.reload_prices()
    rows = write_spread(ledger)
    data = serve(ledger, rows, NOW, request.param)
    with data.client:
        yield data
    ledger.close()
    if cleanup is not None:
        cleanup()


def exported(data: DataSet, params: dict[str, Any]) -> dict[str, int]:
    r = data.client.get(BASE + "/export", params=params, headers=data.admin)
    assert r.status_code == 200, r.text
    lines = list(csv.DictReader(io.StringIO(r.text)))
    return {
        "events": len(lines),
        "cost": sum(int(Decimal(x["costUsd"]) * 10**9) for x in lines),
        "requests": sum(int(x["requests"]) for x in lines),
        "input": sum(int(x["inputTokens"]) for x in lines),
        "output": sum(int(x["outputTokens"]) for x in lines),
    }


def money(out: dict[str, Any]) -> tuple[int, int, int, int]:
    requests = out.get("totalRequests", out.get("requests"))
    return out["costNanos"], requests, out["inputTokens"], out["outputTokens"]


def raw_money(rows: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    t = sums(rows)
    return t["cost"], t["requests"], t["input"], t["output"]


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, tuple[int, int, int, int]]:
    groups = group(rows, lambda r: label(r[key]))
    return {k: (v["cost"], v["requests"], v["input"], v["output"]) for k, v in groups.items()}


@pytest.mark.parametrize("name", WINDOWS)
def test_every_endpoint_counts_the_window_asked(edges: DataSet, name: str) -> None:
    start, end = WINDOWS[name]
    window = (us(start), us(end))
    for filters in FILTERS:
        params = {"startDate": start, "endDate": end, **filters}
        rows = pick_us(edges.rows, window, **filters)
        assert rows, "the window must hold events for the test to mean anything"
        raw = raw_money(rows)
        csv_sums = exported(edges, params)
        assert (
            csv_sums["cost"],
            csv_sums["requests"],
            csv_sums["input"],
            csv_sums["output"],
        ) == raw
        assert csv_sums["events"] == len(rows)
        check_totals_and_breakdowns(edges, params, window, rows)
        check_series(edges, params, window, rows)
        check_sessions(edges, params, window)
        check_forecast(edges, params, window)
        log = edges.get("/requests", limit=1000, **params)
        assert {x["eventId"] for x in log["requests"]} == {r["event_id"] for r in rows}


def check_totals_and_breakdowns(
    data: DataSet, params: dict[str, Any], window: tuple[int, int], rows: list[dict[str, Any]]
) -> None:
    filters = {k: v for k, v in params.items() if k not in ("startDate", "endDate")}
    raw = raw_money(rows)
    overview = data.get("/global", **params)
    assert (us(overview["startDate"]), us(overview["endDate"])) == window
    assert overview["widened"] is None
    assert money(overview) == raw
    assert overview["errorCount"] == sums(rows)["failed"]
    assert overview["fallbackPricedRequests"] == sums(rows)["fallback_requests"]
    length = window[1] - window[0]
    before = pick_us(data.rows, (window[0] - length, window[0]), **filters)
    assert overview["previousPeriodCostUsd"] == usd(sums(before)["cost"])
    today = (to_us(NOW.replace(hour=0, minute=0, second=0)), to_us(NOW))
    assert overview["todayCostUsd"] == usd(sums(pick_us(data.rows, today, **filters))["cost"])
    month = (to_us(NOW.replace(day=1, hour=0, minute=0, second=0)), to_us(NOW))
    mtd = sums(pick_us(data.rows, month, **filters))["cost"]
    assert overview["monthToDateCostUsd"] == usd(mtd)
    assert sum(p["costNanos"] for p in overview["byProvider"]) == raw[0]

    orgs = data.get("/by-org", limit=1000, **params)
    assert orgs["widened"] is None
    assert {o["orgId"]: money(o) for o in orgs["orgs"]} == by(rows, "org_id")
    previous = group(before, lambda r: label(r["org_id"]))
    for o in orgs["orgs"]:
        assert o["previousCostUsd"] == usd(previous.get(o["orgId"], {}).get("cost", 0))
    acme = [r for r in rows if r["org_id"] == "acme"]
    detail = data.get("/by-org/acme", **{k: v for k, v in params.items() if k != "orgId"})
    assert money(detail["totals"]) == raw_money(acme)
    assert sum(p["costNanos"] for p in detail["trend"]) == raw_money(acme)[0]

    assert detail["widened"] is None
    models = data.get("/by-model", **params)
    assert models["widened"] is None
    expected = group(rows, lambda r: (r["provider"], r["model"]))
    assert {(m["provider"], m["model"]): m["costNanos"] for m in models["models"]} == {
        k: v["cost"] for k, v in expected.items()
    }
    last_day = (window[1] - 1) // (DAY * 10**6) * DAY * 10**6
    for m in models["models"]:
        tail = pick_us(data.rows, (last_day, window[1]), **filters)
        tail = [r for r in tail if (r["provider"], r["model"]) == (m["provider"], m["model"])]
        assert m["sparkline"][-1] == usd(sums(tail)["cost"])
    agents = data.get("/by-agent", **params)
    assert agents["widened"] is None
    assert {a["agent"]: money(a) for a in agents["agents"]} == by(rows, "agent")
    ops = data.get("/by-operation", **params)
    assert ops["widened"] is None
    assert {o["operation"]: money(o) for o in ops["operations"]} == by(rows, "operation")
    users = data.get("/by-user", limit=1000, **params)
    assert users["widened"] is None
    assert users["totalCostUsd"] == usd(raw[0])
    mine = group([r for r in rows if r["user_id"]], lambda r: (label(r["org_id"]), r["user_id"]))
    assert {(u["orgId"], u["userId"]): u["costNanos"] for u in users["users"]} == {
        k: v["cost"] for k, v in mine.items()
    }
    what_if = data.get("/what-if", asModel="gpt-4o", **params)
    assert what_if["widened"] is None
    assert what_if["actualCostUsd"] == usd(raw[0])
    daily = group(rows, lambda r: r["ts_us"] // (DAY * 10**6))
    assert {d["date"]: d["actualCostUsd"] for d in what_if["days"]} == {
        dt.datetime.fromtimestamp(day * DAY, dt.UTC).date().isoformat(): usd(v["cost"])
        for day, v in daily.items()
    }


def check_series(
    data: DataSet, params: dict[str, Any], window: tuple[int, int], rows: list[dict[str, Any]]
) -> None:
    filters = {k: v for k, v in params.items() if k not in ("startDate", "endDate")}
    for group_by, width in (("hour", HOUR), ("day", DAY)):
        out = data.get("/trends", groupBy=group_by, splitBy="model", **params)
        assert out["widened"] is None
        assert sum(p["costNanos"] for p in out["totals"]) == sums(rows)["cost"]
        assert sum(p["requests"] for p in out["totals"]) == sums(rows)["requests"]
        for point in out["totals"]:
            b = us(point["bucket"])
            inside = (max(b, window[0]), min(b + width * 10**6, window[1]))
            assert point["costNanos"] == sums(pick_us(data.rows, inside, **filters))["cost"]
        assert sum(s["costUsd"] for s in out["series"]) == pytest.approx(usd(sums(rows)["cost"]))
    pattern = data.get("/usage-pattern", **params)
    assert pattern["widened"] is None
    assert sum(c["costNanos"] for c in pattern["cells"]) == sums(rows)["cost"]
    assert sum(c["requests"] for c in pattern["cells"]) == sums(rows)["requests"]


def check_sessions(data: DataSet, params: dict[str, Any], window: tuple[int, int]) -> None:
    """A session is listed when its span (first to last event) meets the window and, for a
    filter that only raw events answer, when one of its events in the window matches; its
    figures are the whole session's."""
    filters = {k: v for k, v in params.items() if k not in ("startDate", "endDate")}
    if "userId" in filters:  # the session's user is a stored figure, not a window question
        return
    whole = group(
        [r for r in data.rows if r["session_id"]], lambda r: (label(r["org_id"]), r["session_id"])
    )
    spans = group_rows([r for r in data.rows if r["session_id"]])
    expected = {}
    for key, members in spans.items():
        first, last = min(r["ts_us"] for r in members), max(r["ts_us"] for r in members)
        if not (first < window[1] and last >= window[0]):
            continue
        if "agent" in filters and all(r["agent"] != filters["agent"] for r in members):
            continue
        if "model" in filters and not pick_us(members, window, model=filters["model"]):
            continue
        expected[key] = (whole[key]["cost"], whole[key]["requests"])
    assert expected, "the window must meet sessions for the test to mean anything"
    out = data.get("/sessions", limit=1000, **params)
    assert {
        (s["orgId"], s["sessionId"]): (s["costNanos"], s["requests"]) for s in out["sessions"]
    } == (expected)


def group_rows(rows: list[dict[str, Any]]) -> dict[tuple[Any, str], list[dict[str, Any]]]:
    out: dict[tuple[Any, str], list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault((label(r["org_id"]), r["session_id"]), []).append(r)
    return out


def check_forecast(data: DataSet, params: dict[str, Any], window: tuple[int, int]) -> None:
    """The forecast's history is the whole UTC days the window touches, up to today (a day is its
    unit, and the answer names them); month to date and today are those of ``/global``."""
    filters = {k: v for k, v in params.items() if k not in ("startDate", "endDate")}
    out = data.get("/forecast", **params)
    day_us = DAY * 10**6
    today = to_us(NOW) // day_us * day_us  # not over: never history
    start, end = window[0] // day_us * day_us, min(-(-window[1] // day_us) * day_us, today)
    assert (us(out["historyStartDate"]), us(out["historyEndDate"])) == (start, end)
    for point in out["history"]:
        day = us(point["date"] + "T00:00:00Z")
        assert point["costUsd"] == usd(
            sums(pick_us(data.rows, (day, day + day_us), **filters))["cost"]
        )
    overview = data.get("/global", **params)
    assert out["monthToDateCostUsd"] == overview["monthToDateCostUsd"]
    assert out["todayCostUsd"] == overview["todayCostUsd"]


def test_edges_past_the_retention_are_widened_and_say_so(ledger: Ledger) -> None:
    rows = write_spread(ledger)
    # the retention cutoff is the first open day: the events before it are pruned
    now = OPEN + dt.timedelta(days=ledger.settings.retention_days, hours=5)
    assert prune(ledger.engine, now_us=to_us(now), retention_days=ledger.settings.retention_days)
    data = serve(ledger, rows, now, "any")
    with data.client:
        start, end = WINDOWS["hours"]  # wholly before the cutoff
        out = data.get("/global", startDate=start, endDate=end)
        assert (out["startDate"], out["endDate"]) == (start, end)
        widened = out["widened"]
        assert (widened["startDate"], widened["endDate"]) == (
            "2026-11-10T01:00:00Z",
            "2026-11-10T04:00:00Z",
        )
        assert "retention" in widened["reason"] and "2026-11-11T00:00:00Z" in widened["reason"]
        assert money(out) == raw_money(
            pick_us(rows, (us(widened["startDate"]), us(widened["endDate"])))
        )
        assert out["previousPeriod"] == {
            "startDate": "2026-11-09T22:00:00Z",
            "endDate": "2026-11-10T01:00:00Z",
        }
        start, end = WINDOWS["days"]  # from before the cutoff to after it: one edge widened
        out = data.get("/global", startDate=start, endDate=end)
        assert (out["widened"]["startDate"], out["widened"]["endDate"]) == (
            "2026-11-10T22:00:00Z",
            end,
        )
        counted = (us("2026-11-10T22:00:00Z"), us(end))
        assert money(out) == raw_money(pick_us(rows, counted))
        previous = out["previousPeriod"]
        assert out["previousPeriodCostUsd"] == usd(
            sums(pick_us(rows, (us(previous["startDate"]), us(previous["endDate"]))))["cost"]
        )
        hourly = data.get("/trends", groupBy="hour", startDate=start, endDate=end)
        assert hourly["widened"] == out["widened"]
        assert sum(p["costNanos"] for p in hourly["totals"]) == raw_money(pick_us(rows, counted))[0]
        # a user's figures from user_day: widened to the whole day
        users = data.get("/by-user", startDate=start, endDate=end, orgId="acme")
        assert users["widened"]["startDate"] == "2026-11-10T00:00:00Z"
        day_counted = (us("2026-11-10T00:00:00Z"), us(end))
        assert users["totalCostUsd"] == usd(sums(pick_us(rows, day_counted, orgId="acme"))["cost"])
        # after the cutoff nothing is widened
        start, end = WINDOWS["in an hour"]
        out = data.get("/global", startDate=start, endDate=end)
        assert out["widened"] is None
        assert money(out) == raw_money(pick_us(rows, (us(start), us(end))))


def test_what_lies_only_past_an_edge_is_not_listed(ledger: Ledger) -> None:
    """An edge that fills most of its hour (or, from ``user_day``, its day) is counted as the
    whole bucket less the rest of it: an organisation, model, agent, operation or user whose
    events all lie in that rest is not in the answer, not even with zeros."""

    def event(at: str, **who: Any) -> UsageEvent:
        return UsageEvent(
            event_id=uuid.uuid4(),
            timestamp=dt.datetime.fromisoformat(at),
            provider=who.pop("provider", "openai"),
            model=who.pop("model", "gpt-4o"),
            input_tokens=1000,
            output_tokens=100,
            **who,
        )

    inside = dict(org_id="acme", user_id="u1", agent="IRIS", operation="chat")
    rest = dict(
        org_id="tail",
        user_id="late",
        agent="LATE",
        operation="late-op",
        provider="anthropic",
        model="claude-sonnet-4-20250514",
    )
    writer = EventWriter(ledger.engine, ledger.pricer, clock_us=lambda: to_us(NOW))
    writer.write(
        [
            event("2026-11-12T01:58:00+00:00", **inside),
            event("2026-11-12T03:10:00+00:00", **inside),
            event("2026-11-12T03:57:00+00:00", **rest),  # after the window, in its last hour
            event("2026-11-12T01:51:00+00:00", **rest),  # before the window, in its first hour
            event("2026-11-11T10:00:00+00:00", **inside),
            event("2026-11-11T20:30:00+00:00", **rest),
        ]
    )
    with ledger.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(t.events))]
    data = serve(ledger, rows, NOW, "any")
    with data.client:
        params = {"startDate": "2026-11-12T01:52:08Z", "endDate": "2026-11-12T03:53:41Z"}
        assert [o["orgId"] for o in data.get("/by-org", **params)["orgs"]] == ["acme"]
        assert [m["model"] for m in data.get("/by-model", **params)["models"]] == ["gpt-4o"]
        assert [a["agent"] for a in data.get("/by-agent", **params)["agents"]] == ["IRIS"]
        ops = data.get("/by-operation", **params)["operations"]
        assert [o["operation"] for o in ops] == ["chat"]
        assert [u["userId"] for u in data.get("/by-user", **params)["users"]] == ["u1"]
        overview = data.get("/global", **params)
        assert [p["provider"] for p in overview["byProvider"]] == ["openai"]
        assert overview["totalRequests"] == 2
        trend = data.get("/trends", groupBy="hour", splitBy="org", **params)
        assert [s["orgId"] for s in trend["series"]] == ["acme"]
        # user_day counts whole days: an end late in a day takes the rest of it away
        params = {"startDate": "2026-11-11T00:00:00Z", "endDate": "2026-11-11T19:53:41Z"}
        users = data.get("/by-user", **params)
        assert users["answeredFrom"] == "user_day"
        assert [u["userId"] for u in users["users"]] == ["u1"]
        orgs = data.get("/by-org", userId="late", **params)
        assert orgs["answeredFrom"] == "user_day"
        assert orgs["orgs"] == []
        assert data.get("/by-org", userId="u1", **params)["orgs"][0]["requests"] == 1
