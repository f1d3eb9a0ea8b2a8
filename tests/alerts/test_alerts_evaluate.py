"""Each rule type's value and state, exact to the nano-dollar, in the rule's own zone: the
clock is injected, so the checks cross day, week, month and DST boundaries without sleeping."""

from __future__ import annotations

import datetime as dt

import pytest

from llmledger.alerts.evaluate import Evaluation, evaluate
from llmledger.alerts.rules import Rule
from llmledger.ledger import Ledger
from tests.alerts.support import event, rule, spend, utc

US = 1_000_000


def one(ledger: Ledger, r: Rule, now: dt.datetime) -> Evaluation:
    with ledger.engine.connect() as conn:
        (found,) = evaluate(conn, [r], now=now)
    return found


def test_a_daily_limit_counts_the_rules_day_to_the_microsecond(ledger: Ledger) -> None:
    # Kolkata's day starts at 18:30 UTC: the hour 18:00-19:00 is half yesterday, half today
    daily = rule(alertType="daily_limit", thresholdCents=100, timezone="Asia/Kolkata")
    ledger.write(
        [
            event(utc(2026, 12, 6, 18, 29, 59, 999999), "5"),  # yesterday there
            event(utc(2026, 12, 6, 18, 30), "0.25"),
            event(utc(2026, 12, 6, 22, 10), "0.25"),  # a whole hour, from the rollups
            event(utc(2026, 12, 7, 9, 0, 0), "0.299999999"),
            event(utc(2026, 12, 7, 9, 30), "7"),  # after now: not spent yet
        ]
    )
    now = utc(2026, 12, 7, 9, 15)
    found = one(ledger, daily, now)
    assert found.value == 799_999_999
    assert (found.state, found.period.key) == ("OK", "2026-12-07")
    spend(ledger, utc(2026, 12, 7, 9, 1), "0.000000001")
    found = one(ledger, daily, now)
    assert (found.value, found.state, found.percent_used) == (800_000_000, "WARNING", 80.0)
    spend(ledger, utc(2026, 12, 7, 9, 2), "0.199999999")
    assert one(ledger, daily, now).state == "WARNING"
    spend(ledger, utc(2026, 12, 7, 9, 3), "0.000000001")
    found = one(ledger, daily, now)
    assert (found.value, found.state, found.threshold) == (10**9, "CRITICAL", 10**9)
    # the next local day starts at 18:30 UTC: back to OK
    later = one(ledger, daily, utc(2026, 12, 7, 18, 30))
    assert (later.period.key, later.value, later.state) == ("2026-12-08", 0, "OK")


def test_the_autumn_dst_day_has_25_hours(ledger: Ledger) -> None:
    daily = rule(alertType="daily_limit", thresholdCents=1000, timezone="America/New_York")
    ledger.write(
        [
            event(utc(2026, 11, 1, 3, 59, 59), "1"),  # 23:59:59 EDT on Oct 31
            event(utc(2026, 11, 1, 4, 0), "2"),  # 00:00 EDT
            event(utc(2026, 11, 1, 6, 30), "4"),  # 01:30 EST, the repeated hour's second go
            event(utc(2026, 11, 2, 4, 30), "8"),  # 23:30 EST on Nov 1
            event(utc(2026, 11, 2, 5, 0), "16"),  # 00:00 EST on Nov 2
        ]
    )
    found = one(ledger, daily, utc(2026, 11, 2, 4, 59, 59))
    assert (found.period.key, found.period.hours, found.value) == ("2026-11-01", 25.0, 14 * 10**9)
    assert found.state == "CRITICAL"
    nxt = one(ledger, daily, utc(2026, 11, 2, 5, 0, 1))
    assert (nxt.period.key, nxt.value) == ("2026-11-02", 16 * 10**9)


def test_weekly_and_monthly_limits_start_in_the_rules_zone(ledger: Ledger) -> None:
    weekly = rule(alertType="weekly_limit", thresholdCents=10_000, timezone="Europe/Berlin")
    monthly = rule(alertType="monthly_limit", thresholdCents=10_000, timezone="Europe/Berlin")
    ledger.write(
        [
            event(utc(2026, 11, 29, 22, 59), "1"),  # Sunday 23:59 CET
            event(utc(2026, 11, 29, 23, 0), "2"),  # Monday 00:00 CET
            event(utc(2026, 11, 30, 22, 59, 59), "4"),  # the last second of November there
            event(utc(2026, 11, 30, 23, 0), "8"),  # December
        ]
    )
    now = utc(2026, 12, 4)
    with ledger.engine.connect() as conn:
        w, m = evaluate(conn, [weekly, monthly], now=now)
    assert (w.period.key, w.value) == ("2026-W49", 14 * 10**9)
    assert (m.period.key, m.value) == ("2026-12", 8 * 10**9)
    with ledger.engine.connect() as conn:
        w, m = evaluate(conn, [weekly, monthly], now=utc(2026, 11, 29, 22, 59, 30))
    assert (w.period.key, w.value, m.period.key, m.value) == ("2026-W48", 10**9, "2026-11", 10**9)


def test_rules_of_one_shape_are_answered_together_and_apart_alike(ledger: Ledger) -> None:
    now = utc(2026, 12, 7, 12, 40)
    for i, org in enumerate(["acme", "globex", "initech"]):
        for h in range(6):
            spend(ledger, utc(2026, 12, 7, 6 + h, 7 * i), f"0.{i + 1}", org_id=org, agent="a")
    spend(ledger, utc(2026, 12, 7, 6), "9", org_id=None)
    rules = [
        rule(alertType="daily_limit", thresholdCents=50, orgId=org, timezone=tz)
        for org in ["acme", "globex", "initech", "nobody"]
        for tz in ["UTC", "Asia/Kolkata", "America/New_York"]
    ]
    rules.append(rule(alertType="daily_limit", thresholdCents=50, orgId="acme", agent="a"))
    with ledger.engine.connect() as conn:
        together = [e.value for e in evaluate(conn, rules, now=now)]
    apart = [one(ledger, r, now).value for r in rules]
    assert together == apart
    assert together[:3] == [600_000_000, 600_000_000, 600_000_000]
    assert together[9:12] == [0, 0, 0] and together[-1] == 600_000_000


def test_a_cost_spike_compares_the_last_hour_with_the_weeks_mean(ledger: Ledger) -> None:
    spike = rule(alertType="cost_spike", spikePercent=200, minCostCents=100)
    now = utc(2026, 12, 7, 10, 5)
    # the 168 hours before 09:00 cost $16.80 in all: a mean hour of $0.10
    ledger.write([event(utc(2026, 11, 30, 9) + dt.timedelta(hours=h), "0.1") for h in range(168)])
    spend(ledger, utc(2026, 11, 30, 8, 59), "100")  # before the week: not counted
    spend(ledger, utc(2026, 12, 7, 9, 10), "0.24")
    found = one(ledger, spike, now)
    assert (found.period.key, found.value, found.state) == ("2026-12-07T09Z", 240_000_000, "OK")
    assert found.extra["meanHourUsd"] == 0.1
    spend(ledger, utc(2026, 12, 7, 9, 20), "0.5")
    found = one(ledger, spike, now)
    # over three times the mean ($0.30), but under the $1 floor: the threshold is the floor
    assert (found.value, found.state, found.threshold) == (740_000_000, "OK", 10**9)
    spend(ledger, utc(2026, 12, 7, 10, 1), "50")  # this hour: not the last full one yet
    spend(ledger, utc(2026, 12, 7, 9, 59, 59), "0.3")
    found = one(ledger, spike, now)
    assert (found.value, found.state) == (1_040_000_000, "CRITICAL")


def test_a_cost_spike_uses_the_mean_without_a_floor(ledger: Ledger) -> None:
    spike = rule(alertType="cost_spike", spikePercent=100, minCostCents=0, warningPercent=50)
    now = utc(2026, 12, 7, 10, 5)
    ledger.write([event(utc(2026, 11, 30, 9) + dt.timedelta(hours=h), "1") for h in range(168)])
    spend(ledger, utc(2026, 12, 7, 9, 10), "0.999999999")
    assert one(ledger, spike, now).state == "OK"  # below 50% of 2 x $1
    spend(ledger, utc(2026, 12, 7, 9, 11), "0.000000001")
    found = one(ledger, spike, now)
    assert (found.state, found.threshold, found.percent_used) == ("WARNING", 2 * 10**9, 50.0)
    spend(ledger, utc(2026, 12, 7, 9, 12), "1")
    assert one(ledger, spike, now).state == "CRITICAL"


def test_an_error_rate_needs_its_minimum_of_requests(ledger: Ledger) -> None:
    errors = rule(alertType="error_rate", thresholdPercent=10, minRequests=20, orgId="acme")
    now = utc(2026, 12, 7, 10, 30)
    start = now - dt.timedelta(hours=1)
    at = [start + dt.timedelta(minutes=i) for i in range(19)]
    ledger.write(
        [event(t, "0", success=i >= 5, org_id="acme") for i, t in enumerate(at)]
        + [event(start - dt.timedelta(seconds=1), "0", success=False, org_id="acme")]
        + [event(start, "0", success=False, org_id="other")]
    )
    found = one(ledger, errors, now)
    assert (found.extra["requests"], found.extra["failedRequests"]) == (19, 5)
    assert found.state == "OK"  # 26% of 19 requests: too few to judge
    ledger.write(
        [event(start + dt.timedelta(minutes=30, seconds=i), "0", org_id="acme") for i in range(31)]
    )
    found = one(ledger, errors, now)
    assert (found.value, found.state, found.unit) == (10.0, "CRITICAL", "percent")
    ledger.write([event(now - dt.timedelta(minutes=1), "0", org_id="acme")])
    assert one(ledger, errors, now).state == "WARNING"  # 5 of 51: 9.8%, above 80% of 10%


def test_a_forecast_overrun_adds_the_projection_to_the_month_so_far(ledger: Ledger) -> None:
    forecast = rule(alertType="forecast_overrun", thresholdCents=100_000)  # $1,000
    now = utc(2026, 12, 10, 13)
    # $10 a day for the 56 days before today, and $10 today so far
    ledger.write([event(utc(2026, 10, 15, 12) + dt.timedelta(days=d), "10") for d in range(57)])
    found = one(ledger, forecast, now)
    assert found.extra["monthToDateUsd"] == 100.0  # December 1-10
    # the month to date, and $10 for each of the 21 days left: $310 in all
    assert found.value == pytest.approx(310 * 10**9, rel=1e-6)
    assert found.state == "OK"
    tight = rule(alertType="forecast_overrun", thresholdCents=30_000, warningPercent=90)
    assert one(ledger, tight, now).state == "CRITICAL"


def test_shapes_asked_together_by_store_answer_as_each_rule_alone(ledger: Ledger) -> None:
    """Shapes one store answers share one question grouped by all their columns (the platform,
    organisations, providers and models; agents; users): each rule's value is what it has
    alone, for every type, in zones with half-hour days too."""
    now = utc(2026, 12, 7, 12, 40)
    attrs = [
        {"org_id": "acme", "agent": "a", "user_id": "u1", "model": "gpt-4o"},
        {"org_id": "acme", "agent": "b", "user_id": "u2", "provider": "anthropic", "model": "c"},
        {"org_id": "globex", "agent": "a", "user_id": "u1", "model": "gpt-4o-mini"},
        {"org_id": None, "agent": None, "user_id": None},
    ]
    for h in range(0, 30, 2):
        for i, a in enumerate(attrs):
            at = now - dt.timedelta(hours=h, minutes=11 * i)
            ledger.write([event(at, f"0.{i + 1}{h % 7}", success=(h + i) % 3 != 0, **a)])
    scopes = [
        {},
        {"orgId": "acme"},
        {"provider": "anthropic"},
        {"model": "gpt-4o"},
        {"orgId": "acme", "model": "gpt-4o"},
        {"agent": "a"},
        {"orgId": "acme", "agent": "a"},
        {"userId": "u1"},
        {"orgId": "globex", "userId": "u1"},
        {"orgId": "acme", "agent": "b", "userId": "u2"},
    ]
    kinds = [
        {"alertType": "daily_limit", "thresholdCents": 200, "timezone": "Asia/Kolkata"},
        {"alertType": "weekly_limit", "thresholdCents": 500},
        {"alertType": "cost_spike", "minCostCents": 0},
        {"alertType": "error_rate", "thresholdPercent": 20, "minRequests": 1},
        {"alertType": "forecast_overrun", "thresholdCents": 1_000},
    ]
    rules = [rule(**k, **s) for s in scopes for k in kinds]
    with ledger.engine.connect() as conn:
        together = [(e.state, e.value, e.threshold) for e in evaluate(conn, rules, now=now)]
    apart = [(e.state, e.value, e.threshold) for e in (one(ledger, r, now) for r in rules)]
    assert together == apart
    assert len({v for _, v, _ in together}) >= 15  # the scopes do see different figures
