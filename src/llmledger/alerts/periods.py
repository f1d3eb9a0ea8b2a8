"""The periods a rule is measured over, as exact UTC bounds (microseconds, half-open).

A rule's days, weeks (Monday to Sunday) and months are those of its timezone: "today" in
``America/New_York`` starts at local midnight, which is 04:00 or 05:00 UTC depending on the
season, and the days the clocks change are 23 or 25 hours long. A period's bounds are the
local midnights converted to UTC, so they follow the zone's rules exactly (a zone whose offset
is not a whole hour, such as ``Asia/Kolkata``, has bounds on half hours).

The hourly types (``cost_spike``, ``error_rate``) use UTC hours, which every zone shares but
for the half- and quarter-hour ones (whose hours are still measured exactly; only the label is
UTC's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from llmledger.analytics.window import iso
from llmledger.store.rows import to_us

Calendar = Literal["day", "week", "month"]
US_PER_HOUR = 3600 * 1_000_000


@dataclass(frozen=True, slots=True)
class Period:
    """``[start_us, end_us)``; ``key`` names it uniquely for the rule (``2026-12-07``,
    ``2026-W49``, ``2026-12``, ``2026-12-07T09Z``)."""

    key: str
    start_us: int
    end_us: int
    timezone: str

    @property
    def range(self) -> tuple[int, int]:
        return self.start_us, self.end_us

    @property
    def hours(self) -> float:
        return (self.end_us - self.start_us) / US_PER_HOUR

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "start": iso(self.start_us),
            "end": iso(self.end_us),
            "timezone": self.timezone,
        }


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` naming it when there is no such zone."""
    if not name or len(name) > 64 or name != name.strip() or "\x00" in name:
        raise ValueError(f"{name!r} is not an IANA timezone name (e.g. Europe/Berlin)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA timezone name (e.g. Europe/Berlin)") from None


def _midnight(day: dt.date, tz: ZoneInfo) -> int:
    """The first instant of ``day`` in ``tz``. Where the clocks jump forward over midnight
    the local day starts when they land (``fold=0`` maps the missing 00:00 to that instant);
    where midnight happens twice, at the first."""
    return to_us(dt.datetime.combine(day, dt.time(), tzinfo=tz))


def local_date(now: dt.datetime, tz: ZoneInfo) -> dt.date:
    return now.astimezone(tz).date()


def calendar_period(calendar: Calendar, timezone: str, now: dt.datetime) -> Period:
    """The day, week (from Monday) or month in ``timezone`` that holds ``now``."""
    tz = zone(timezone)
    today = local_date(now, tz)
    if calendar == "day":
        first, after = today, today + dt.timedelta(days=1)
        key = today.isoformat()
    elif calendar == "week":
        first = today - dt.timedelta(days=today.weekday())
        after = first + dt.timedelta(days=7)
        year, week, _ = first.isocalendar()
        key = f"{year}-W{week:02d}"
    else:
        first = today.replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
        key = f"{first.year}-{first.month:02d}"
    return Period(key, _midnight(first, tz), _midnight(after, tz), timezone)


def hour_key(us: int) -> str:
    """The UTC hour holding ``us``: ``2026-12-07T09Z``."""
    return iso(us - us % US_PER_HOUR)[:13] + "Z"


def last_full_hour(now: dt.datetime) -> Period:
    """The last whole UTC hour before ``now``."""
    now_us = to_us(now)
    end = now_us - now_us % US_PER_HOUR
    return Period(hour_key(end - US_PER_HOUR), end - US_PER_HOUR, end, "UTC")


def trailing_hour(now: dt.datetime) -> Period:
    """The 60 minutes up to ``now``, named after the UTC hour ``now`` is in (so a rule that
    fires ``once`` fires at most once an hour)."""
    now_us = to_us(now)
    return Period(hour_key(now_us), now_us - US_PER_HOUR, now_us, "UTC")
