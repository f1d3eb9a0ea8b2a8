"""``/global`` and the breakdowns agree with a recount of raw events (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from llmledger.money import picos_to_nanos
from tests.analytics.conftest import NOW, DataSet
from tests.analytics.recount import DAY, group, label, pick, s, sums, usd

pytestmark = pytest.mark.xdist_group("analytics")

MONTH = (s(NOW.replace(day=1, hour=0, minute=0, second=0)), s(NOW))
NOV = {"startDate": "2026-11-01", "endDate": "2026-11-19"}
NOV_RANGE = (
    s(dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
    s(dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
)


def check_totals(out: dict, t: dict[str, int]) -> None:
    assert out["costNanos"] == t["cost"]
    assert out["costUsd"] == usd(t["cost"])
    assert out["totalRequests"] == t["requests"]
    assert out["inputTokens"] == t["input"]
    assert out["outputTokens"] == t["output"]
    assert out["cacheReadTokens"] == t["cache_read"]
    assert out["reasoningTokens"] == t["reasoning"]
    assert out["errorCount"] == t["failed"]
    assert out["costOfFailedRequestsUsd"] == usd(t["failed_cost"])
    assert out["fallbackPricedRequests"] == t["fallback_requests"]
    assert out["fallbackPricedCostUsd"] == usd(t["fallback_cost"])
    if t["requests"]:
        assert out["successRate"] == round(t["ok"] / t["requests"], 6)
        assert out["avgCostPerRequestUsd"] == round(t["cost"] / t["requests"] / 1e9, 9)
    if t["latency_count"]:
        assert out["avgLatencyMs"] == round(t["latency_sum"] / t["latency_count"], 1)


@pytest.mark.parametrize(
    "params",
    [
        {},
        NOV,
        {**NOV, "provider": "OpenAI"},
        {**NOV, "success": "false"},
        {**NOV, "agent": "IRIS", "tier": "premium"},
        {**NOV, "operation": "+sum"},
        {"startDate": "2026-11-03T10:20:00+02:00", "endDate": "2026-11-18T07:05:00Z"},
    ],
)
def test_global_agrees_with_raw_events(data: DataSet, params: dict) -> None:
    out = data.get("/global", **params)
    if params:
        start = dt.datetime.fromisoformat(params["startDate"].replace("Z", "+00:00"))
        if len(params["startDate"]) == 10:
            current = NOV_RANGE
        else:
            end = dt.datetime.fromisoformat(params["endDate"].replace("Z", "+00:00"))
            current = (s(start), s(end))
    else:
        current = MONTH
    filters = {k: v for k, v in params.items() if k not in ("startDate", "endDate")}
    if "provider" in filters:
        filters["provider"] = filters["provider"].lower()
    if "success" in filters:
        filters["success"] = filters["success"] == "true"
    now = pick(data.rows, current, **filters)
    check_totals(out, sums(now))
    length = current[1] - current[0]
    before = sums(pick(data.rows, (current[0] - length, current[0]), **filters))
    assert out["previousPeriodCostUsd"] == usd(before["cost"])
    if before["cost"]:
        assert out["costChangePercent"] == round(
            (sums(now)["cost"] - before["cost"]) * 100 / before["cost"], 2
        )
    assert out["monthToDateCostUsd"] == usd(sums(pick(data.rows, MONTH, **filters))["cost"])
    today = (s(NOW.replace(hour=0, minute=0, second=0)), MONTH[1])
    assert out["todayCostUsd"] == usd(sums(pick(data.rows, today, **filters))["cost"])
    providers = group(now, lambda r: r["provider"])
    assert {p["provider"]: p["costNanos"] for p in out["byProvider"]} == {
        k: v["cost"] for k, v in providers.items()
    }
    assert out["answeredFrom"] == "rollup"


def test_user_filter_is_answered_from_raw_events(data: DataSet) -> None:
    out = data.get("/global", userId="acme-u1", **NOV)
    assert out["answeredFrom"] == "events"
    check_totals(out, sums(pick(data.rows, NOV_RANGE, userId="acme-u1")))


def test_scoped_caller_sees_only_its_organisation(data: DataSet) -> None:
    viewer = data.token(role="viewer", org="globex")
    r = data.client.get("/api/v1/admin/llm-costs/global", params=NOV, headers=viewer)
    assert r.status_code == 200
    assert r.json()["costNanos"] == sums(pick(data.rows, NOV_RANGE, orgId="globex"))["cost"]
    r = data.client.get(
        "/api/v1/admin/llm-costs/by-org", params={**NOV, "orgId": "acme"}, headers=viewer
    )
    assert r.status_code == 404
    orgs = data.client.get("/api/v1/admin/llm-costs/by-org", params=NOV, headers=viewer).json()
    assert [o["orgId"] for o in orgs["orgs"]] == ["globex"]
    r = data.client.get("/api/v1/admin/llm-costs/by-org/acme", headers=viewer)
    assert r.status_code == 404


def test_by_org_rows_shares_changes_sorting_and_paging(data: DataSet) -> None:
    out = data.get("/by-org", **NOV)
    now = group(pick(data.rows, NOV_RANGE), lambda r: label(r["org_id"]))
    length = NOV_RANGE[1] - NOV_RANGE[0]
    before = group(
        pick(data.rows, (NOV_RANGE[0] - length, NOV_RANGE[0])), lambda r: label(r["org_id"])
    )
    total = sum(v["cost"] for v in now.values())
    assert out["total"] == len(now)
    assert [o["costNanos"] for o in out["orgs"]] == sorted(
        (v["cost"] for v in now.values()), reverse=True
    )
    for o in out["orgs"]:
        t = now[o["orgId"]]
        assert (o["requests"], o["inputTokens"], o["outputTokens"]) == (
            t["requests"],
            t["input"],
            t["output"],
        )
        assert o["sharePercent"] == round(t["cost"] * 100 / total, 2)
        prev = before.get(o["orgId"], {}).get("cost", 0)
        assert o["previousCostUsd"] == usd(prev)
        assert o["name"] == o["orgId"]
    by_name = data.get("/by-org", sortBy="name", sortOrder="asc", **NOV)
    names = [o["name"] for o in by_name["orgs"] if o["name"]]
    assert names == sorted(names)
    page = data.get("/by-org", sortBy="requests", sortOrder="asc", limit=2, offset=1, **NOV)
    every = data.get("/by-org", sortBy="requests", sortOrder="asc", **NOV)["orgs"]
    assert page["orgs"] == every[1:3]
    cutoff = sorted(v["cost"] for v in now.values())[1]
    rich = data.get("/by-org", minCostCents=-(-cutoff // 10**7), **NOV)
    assert all(o["costNanos"] >= cutoff for o in rich["orgs"])


def test_org_detail(data: DataSet) -> None:
    out = data.get("/by-org/acme", **NOV)
    rows = pick(data.rows, NOV_RANGE, orgId="acme")
    check_totals(out["totals"], sums(rows))
    assert out["trendGroupBy"] == "day"
    assert len(out["trend"]) == 19
    daily = group(rows, lambda r: r["ts_us"] // 10**6 // DAY * DAY)
    for point in out["trend"]:
        day = s(dt.datetime.fromisoformat(point["date"]).replace(tzinfo=dt.UTC))
        assert point["costNanos"] == daily.get(day, {}).get("cost", 0)
    models = group(rows, lambda r: (r["provider"], r["model"]))
    assert {(m["provider"], m["model"]): m["costNanos"] for m in out["models"]} == {
        k: v["cost"] for k, v in models.items()
    }
    latest = sorted(rows, key=lambda r: (r["ts_us"], r["id"]), reverse=True)[:10]
    assert [r["eventId"] for r in out["recentRequests"]] == [r["event_id"] for r in latest]
    r = data.client.get("/api/v1/admin/llm-costs/by-org/nobody", headers=data.admin)
    assert r.status_code == 404


def test_by_model_with_sparkline(data: DataSet) -> None:
    out = data.get("/by-model", **NOV)
    rows = pick(data.rows, NOV_RANGE)
    models = group(rows, lambda r: (r["provider"], r["model"]))
    assert len(out["models"]) == len(models)
    spark_start = NOV_RANGE[1] - 7 * DAY
    for m in out["models"]:
        t = models[(m["provider"], m["model"])]
        assert (m["costNanos"], m["requests"]) == (t["cost"], t["requests"])
        assert m["successRate"] == round(t["ok"] / t["requests"], 6)
        tokens = t["input"] + t["output"]
        assert m["costPer1kTokensUsd"] == (
            round(t["cost"] * 1000 / tokens / 1e9, 9) if tokens else None
        )
        days = group(
            pick(data.rows, (spark_start, NOV_RANGE[1]), provider=m["provider"], model=m["model"]),
            lambda r: (r["ts_us"] // 10**6 - spark_start) // DAY,
        )
        assert m["sparkline"] == [usd(days.get(i, {}).get("cost", 0)) for i in range(7)]
        assert m["trend"] in ("up", "down", "flat")


def test_by_agent_and_by_operation(data: DataSet) -> None:
    rows = pick(data.rows, NOV_RANGE)
    out = data.get("/by-agent", **NOV)
    agents = group(rows, lambda r: r["agent"])
    assert {a["agent"]: a["costNanos"] for a in out["agents"]} == {
        k: v["cost"] for k, v in agents.items()
    }
    iris = next(a for a in out["agents"] if a["agent"] == "IRIS")
    models = group([r for r in rows if r["agent"] == "IRIS"], lambda r: (r["provider"], r["model"]))
    assert {(m["provider"], m["model"]): m["costNanos"] for m in iris["models"]} == {
        k: v["cost"] for k, v in models.items()
    }
    ops = data.get("/by-operation", **NOV)
    operations = group(rows, lambda r: r["operation"])
    assert {o["operation"]: (o["costNanos"], o["requests"]) for o in ops["operations"]} == {
        k: (v["cost"], v["requests"]) for k, v in operations.items()
    }


@pytest.mark.parametrize(
    ("params", "source"),
    [({}, "user_day"), ({"orgId": "acme"}, "user_day"), ({"model": "gpt-4o"}, "events")],
)
def test_by_user_from_user_day_or_raw_events(data: DataSet, params: dict, source: str) -> None:
    out = data.get("/by-user", limit=5, **NOV, **params)
    assert out["answeredFrom"] == source
    rows = [r for r in pick(data.rows, NOV_RANGE, **params) if r["user_id"]]
    users = group(rows, lambda r: (label(r["org_id"]), r["user_id"]))
    top = sorted(users.items(), key=lambda kv: (-kv[1]["cost"], kv[0][0] or "", kv[0][1]))[:5]
    assert [(u["orgId"], u["userId"], u["costNanos"]) for u in out["users"]] == [
        (*k, v["cost"]) for k, v in top
    ]
    assert out["totalCostUsd"] == usd(sums(pick(data.rows, NOV_RANGE, **params))["cost"])


def test_cache_savings_priced_from_the_price_book(data: DataSet) -> None:
    out = data.get("/global", **NOV)
    book = data.ledger.pricer().book
    picos = 0
    for r in pick(data.rows, NOV_RANGE):
        at = dt.datetime.fromtimestamp(r["ts_us"] // 10**6, dt.UTC)
        row = book.price_in_force(r["provider"], r["model"], at)
        if r["cache_read_tokens"] and row is not None:
            base = row.compiled.base
            picos += r["cache_read_tokens"] * (base[0] - base[2])
    assert picos > 0
    assert out["cacheSavingsUsd"] == usd(picos_to_nanos(picos))


def test_what_if_at_its_own_price_is_what_it_cost(data: DataSet) -> None:
    out = data.get("/what-if", model="gpt-4o", asModel="gpt-4o", **NOV)
    rows = pick(data.rows, NOV_RANGE, model="gpt-4o")
    assert out["asProvider"] == "openai"
    assert abs(out["asModelCostUsd"] - usd(sums(rows)["cost"])) <= len(rows) * 1e-9
    cheaper = data.get("/what-if", model="gpt-4o", asModel="gpt-4o-mini", **NOV)
    assert cheaper["actualCostUsd"] == usd(sums(rows)["cost"])
    assert cheaper["asModelCostUsd"] < cheaper["actualCostUsd"]
    assert cheaper["differencePercent"] < 0
    days = group(rows, lambda r: r["ts_us"] // 10**6 // DAY * DAY)
    assert [d["actualCostUsd"] for d in cheaper["days"]] == [
        usd(days[k]["cost"]) for k in sorted(days)
    ]
    r = data.client.get(
        "/api/v1/admin/llm-costs/what-if", params={"asModel": "no-such-model"}, headers=data.admin
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("asModel")
