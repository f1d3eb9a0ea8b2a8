"""Trends, the usage pattern and the forecast agree with raw events and fill empty buckets."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from tests.analytics.conftest import NOW, DataSet
from tests.analytics.recount import DAY, HOUR, group, label, pick, s, usd

pytestmark = pytest.mark.xdist_group("analytics")

NOV = {"startDate": "2026-11-01", "endDate": "2026-11-19"}
NOV_RANGE = (
    s(dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
    s(dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
)


def _s(text: str) -> int:
    return s(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


@pytest.mark.parametrize(
    ("group_by", "width"),
    [("hour", HOUR), ("day", DAY), ("week", 7 * DAY), ("month", None)],
)
def test_trend_buckets_add_up_and_are_zero_filled(
    data: DataSet, group_by: str, width: int | None
) -> None:
    out = data.get("/trends", groupBy=group_by, splitBy="model", **NOV)
    starts = [_s(b) for b in out["buckets"]]
    assert starts == sorted(starts)
    if width:
        assert all(b - a == width for a, b in itertools.pairwise(starts))
    assert starts[0] <= NOV_RANGE[0] < (starts[1] if len(starts) > 1 else NOV_RANGE[1])
    edges = [*starts[1:], NOV_RANGE[1]]
    for i, point in enumerate(out["totals"]):
        rows = pick(data.rows, (max(starts[i], NOV_RANGE[0]), min(edges[i], NOV_RANGE[1])))
        assert point["costNanos"] == sum(r["cost_nanos"] for r in rows)
    models = group(pick(data.rows, NOV_RANGE), lambda r: (r["provider"], r["model"]))
    assert {(x["provider"], x["model"]): x["costUsd"] for x in out["series"]} == {
        k: usd(v["cost"]) for k, v in models.items()
    }
    for series in out["series"]:
        assert len(series["points"]) == len(starts)
        assert series["key"] == f"{series['provider']}/{series['model']}"


def test_trends_default_to_the_last_days(data: DataSet) -> None:
    out = data.get("/trends", days=7, splitBy="org")
    assert len(out["buckets"]) == 7
    assert out["buckets"][-1].startswith(NOW.date().isoformat())
    rows = pick(data.rows, (_s(out["buckets"][0]), s(NOW)))
    orgs = group(rows, lambda r: label(r["org_id"]))
    assert {x["orgId"]: x["costUsd"] for x in out["series"]} == {
        k: usd(v["cost"]) for k, v in orgs.items()
    }


def test_hourly_trend_too_long_is_refused(data: DataSet) -> None:
    r = data.client.get(
        "/api/v1/admin/llm-costs/trends",
        params={"groupBy": "hour", "startDate": "2000-01-01", "endDate": "2026-01-01"},
        headers=data.admin,
    )
    assert r.status_code == 422
    assert "groupBy" in r.json()["detail"]


def test_usage_pattern(data: DataSet) -> None:
    out = data.get("/usage-pattern", **NOV)
    assert len(out["cells"]) == 168
    cells = group(
        pick(data.rows, NOV_RANGE),
        lambda r: (
            dt.datetime.fromtimestamp(r["ts_us"] / 1e6, dt.UTC).weekday(),
            r["ts_us"] // 10**6 % DAY // HOUR,
        ),
    )
    for c in out["cells"]:
        t = cells.get((c["weekday"], c["hour"]), {"cost": 0, "requests": 0})
        assert (c["costNanos"], c["requests"]) == (t["cost"], t["requests"])


def test_forecast(data: DataSet) -> None:
    out = data.get("/forecast", horizonDays=10)
    # the budget of the unfiltered forecast: the active global monthly rule (the seeded one,
    # unless a test sharing this data set changed the rules), else none
    rules = data.client.get("/api/v1/admin/llm-costs/alerts", headers=data.admin).json()["rules"]
    monthly = [
        r for r in rules if r["alertType"] == "monthly_limit" and r["isActive"] and not r["scope"]
    ]
    if monthly:
        best = min(monthly, key=lambda r: (r["thresholdCents"], r["id"]))
        assert (out["budget"]["ruleId"], out["budget"]["amountUsd"]) == (
            best["id"],
            best["thresholdCents"] / 100,
        )
    else:
        assert out["budget"] is None
    assert len(out["days"]) == 10
    assert out["days"][0]["date"] == NOW.date().isoformat()
    assert len(out["history"]) == 56
    for day in out["days"]:
        assert 0 <= day["lowUsd"] <= day["costUsd"] <= day["highUsd"]
    month = (s(NOW.replace(day=1, hour=0, minute=0, second=0)), s(NOW))
    mtd = usd(sum(r["cost_nanos"] for r in pick(data.rows, month)))
    assert out["monthToDateCostUsd"] == pytest.approx(mtd)
    assert out["projectedMonthEndLowUsd"] <= out["projectedMonthEndUsd"]
    assert out["projectedMonthEndUsd"] >= out["monthToDateCostUsd"]
    assert out["projectedMonthEndUsd"] <= out["projectedMonthEndHighUsd"]
    assert abs(sum(out["weekdayFactors"]) - 7) < 0.01
