"""Time windows for analytics: parsing ``startDate``/``endDate`` into a half-open UTC range.

A date means a whole UTC day: ``startDate=2026-11-01&endDate=2026-11-30`` covers all of
November. A datetime is an instant (with an offset; a naive one is taken as UTC), to the
microsecond. Every answer counts exactly this window (see ``analytics.reach``), except where raw
events are no longer kept: a window carries where they begin, ``raw_from_us``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from llmledger.analytics.errors import ParamError
from llmledger.store.rows import from_us, to_us

HOUR_S = 3600
DAY_S = 86400
_MIN_YEAR, _MAX_YEAR = 1970, 2999  # the previous range of any window stays after year 1


class WindowError(ParamError):
    """``startDate``, ``endDate`` or a range-sized parameter cannot be answered."""


@dataclass(frozen=True, slots=True)
class Window:
    start_us: int  # inclusive
    end_us: int  # exclusive
    #: the first instant whose raw events are kept (the retention cutoff); 0: all are
    raw_from_us: int = 0

    @property
    def range(self) -> tuple[int, int]:
        """``(start, end)`` in microseconds."""
        return self.start_us, self.end_us

    def as_json(self) -> dict[str, str]:
        return {"startDate": iso(self.start_us), "endDate": iso(self.end_us)}


def iso(us: int) -> str:
    """An instant as RFC 3339 UTC text, e.g. ``2026-11-01T00:00:00Z``."""
    moment = from_us(us)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def iso_s(seconds: int) -> str:
    return iso(seconds * 1_000_000)


def floor_day(seconds: int) -> int:
    return seconds - seconds % DAY_S


def month_start(moment: dt.datetime) -> dt.datetime:
    return day_start(moment).replace(day=1)


def day_start(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _parse(param: str, value: str, *, end: bool) -> dt.datetime:
    text = value.strip()
    if len(text) > 40:
        raise WindowError(param, "is too long to be a date")
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        else:
            # an unescaped "+01:00" in a query string arrives as " 01:00"
            moment = dt.datetime.fromisoformat(text[:11] + text[11:].replace(" ", "+"))
    except ValueError:
        raise WindowError(param, f"{value!r} is not an ISO date (YYYY-MM-DD) or datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if not _MIN_YEAR <= moment.year <= _MAX_YEAR:
        raise WindowError(param, f"must be between {_MIN_YEAR} and {_MAX_YEAR}")
    if len(text) == 10 and end:
        moment += dt.timedelta(days=1)
    return moment


def parse_window(
    start: str | None,
    end: str | None,
    *,
    now: dt.datetime,
    default_start: dt.datetime | None = None,
    raw_from_us: int = 0,
) -> Window:
    """The window for ``startDate``/``endDate``; default: the current UTC month up to now
    (or ``default_start`` up to now). ``raw_from_us``: where raw events begin."""
    start_at = _parse("startDate", start, end=False) if start else default_start or month_start(now)
    end_at = _parse("endDate", end, end=True) if end else now
    window = Window(to_us(start_at), to_us(end_at), raw_from_us)
    if window.end_us <= window.start_us:
        if end:
            raise WindowError("endDate", "must be after startDate")
        if start:
            raise WindowError("startDate", "must be before now (or give endDate)")
        # the first instant of a month: the default window is that instant
        window = Window(window.start_us, window.start_us + 1, raw_from_us)
    return window
