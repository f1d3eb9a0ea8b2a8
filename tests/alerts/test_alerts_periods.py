"""A rule's days, weeks and months are its timezone's: exact UTC bounds, DST days of 23 and 25
hours, zones with half-hour offsets."""

from __future__ import annotations

import datetime as dt

import pytest

from llmledger.alerts.periods import calendar_period, last_full_hour, trailing_hour
from llmledger.analytics.window import iso
from tests.alerts.support import utc


def bounds(kind: str, zone: str, now: dt.datetime) -> tuple[str, str, str, float]:
    p = calendar_period(kind, zone, now)  # type: ignore[arg-type]
    return p.key, iso(p.start_us), iso(p.end_us), p.hours


def test_a_day_in_new_york_follows_its_offset() -> None:
    assert bounds("day", "America/New_York", utc(2026, 12, 7, 4, 59)) == (
        "2026-12-06", "2026-12-06T05:00:00Z", "2026-12-07T05:00:00Z", 24.0
    )  # fmt: skip
    assert bounds("day", "America/New_York", utc(2026, 12, 7, 5, 0))[0] == "2026-12-07"


def test_dst_days_have_23_and_25_hours() -> None:
    spring = bounds("day", "America/New_York", utc(2026, 3, 8, 12))
    assert spring == ("2026-03-08", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 23.0)
    autumn = bounds("day", "America/New_York", utc(2026, 11, 1, 12))
    assert autumn == ("2026-11-01", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 25.0)
    # Europe changes at 01:00 UTC, the last Sunday of March and October
    assert bounds("day", "Europe/Berlin", utc(2026, 3, 29, 12))[3] == 23.0
    assert bounds("day", "Europe/Berlin", utc(2026, 10, 25, 12))[3] == 25.0


def test_a_midnight_the_clocks_skip_starts_the_day_when_they_land() -> None:
    # Chile's clocks jump from 00:00 to 01:00 on 2026-09-06 (UTC-4 to UTC-3)
    key, start, end, hours = bounds("day", "America/Santiago", utc(2026, 9, 6, 12))
    assert (key, start, end, hours) == (
        "2026-09-06", "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z", 23.0
    )  # fmt: skip


def test_half_hour_zones_have_half_hour_bounds() -> None:
    assert bounds("day", "Asia/Kolkata", utc(2026, 12, 7, 18, 29, 59)) == (
        "2026-12-07", "2026-12-06T18:30:00Z", "2026-12-07T18:30:00Z", 24.0
    )  # fmt: skip
    assert bounds("day", "Asia/Kolkata", utc(2026, 12, 7, 18, 30))[0] == "2026-12-08"
    assert bounds("month", "Asia/Kolkata", utc(2026, 11, 30, 18, 30))[:3] == (
        "2026-12", "2026-11-30T18:30:00Z", "2026-12-31T18:30:00Z"
    )  # fmt: skip


def test_weeks_start_on_monday_in_the_rules_zone() -> None:
    # Monday 2026-12-07 00:00 in Tokyo is Sunday 15:00 UTC
    assert bounds("week", "Asia/Tokyo", utc(2026, 12, 6, 15)) == (
        "2026-W50", "2026-12-06T15:00:00Z", "2026-12-13T15:00:00Z", 168.0
    )  # fmt: skip
    assert bounds("week", "Asia/Tokyo", utc(2026, 12, 6, 14, 59))[0] == "2026-W49"
    # the week that holds the autumn change in New York has 169 hours
    assert bounds("week", "America/New_York", utc(2026, 11, 1, 12))[3] == 169.0
    # ISO weeks: 2026-12-28 (Monday) is week 53 of 2026; 2027-01-04 starts week 1
    assert bounds("week", "UTC", utc(2027, 1, 2))[0] == "2026-W53"
    assert bounds("week", "UTC", utc(2027, 1, 4))[0] == "2027-W01"


def test_months_cross_years_and_dst() -> None:
    assert bounds("month", "UTC", utc(2026, 12, 31, 23, 59)) == (
        "2026-12", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", 744.0
    )  # fmt: skip
    assert bounds("month", "America/New_York", utc(2026, 3, 15))[3] == 31 * 24 - 1
    assert bounds("month", "America/New_York", utc(2026, 11, 15))[3] == 30 * 24 + 1


def test_hours_are_utc_hours() -> None:
    now = utc(2026, 12, 7, 9, 15, 30)
    hour = last_full_hour(now)
    assert (hour.key, iso(hour.start_us), iso(hour.end_us)) == (
        "2026-12-07T08Z", "2026-12-07T08:00:00Z", "2026-12-07T09:00:00Z"
    )  # fmt: skip
    recent = trailing_hour(now)
    assert (recent.key, iso(recent.start_us), iso(recent.end_us)) == (
        "2026-12-07T09Z", "2026-12-07T08:15:30Z", "2026-12-07T09:15:30Z"
    )  # fmt: skip


@pytest.mark.parametrize("name", ["Mars/Olympus", "", " UTC", "../etc/passwd", "x" * 80, "A\x00"])
def test_unknown_zones_are_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match="is not an IANA timezone name"):
        calendar_period("day", name, utc(2026, 12, 7))
