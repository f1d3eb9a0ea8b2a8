"""Time windows for analytics: parsing ``startDate``/``endDate`` into a half-open UTC range.

A date means a whole UTC day: ``startDate=2026-11-01&endDate=2026-11-30`` covers all of
November. A datetime is an instant (with an offset; a naive one is taken as UTC). Answers that
come from rollups are exact to the hour: the window is widened to whole hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from llmledger.store.rows import US_PER_HOUR, to_us


class WindowError(ValueError):
    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


@dataclass(frozen=True, slots=True)
class Window:
    start_us: int  # inclusive
    end_us: int  # exclusive

    @property
    def start_hour(self) -> int:
        """First hour bucket (seconds) inside the window."""
        return self.start_us // US_PER_HOUR * 3600

    @property
    def end_hour(self) -> int:
        """First hour bucket (seconds) after the window (rounded up to a whole hour)."""
        return -(-self.end_us // US_PER_HOUR) * 3600

    def previous(self) -> Window:
        """The equal-length window just before this one."""
        length = self.end_us - self.start_us
        return Window(self.start_us - length, self.start_us)


def _parse(param: str, value: str, *, end: bool) -> dt.datetime:
    text = value.strip()
    if len(text) > 40:
        raise WindowError(param, "is too long to be a date")
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            return moment + dt.timedelta(days=1) if end else moment
        # an unescaped "+01:00" in a query string arrives as " 01:00"
        moment = dt.datetime.fromisoformat(text[:11] + text[11:].replace(" ", "+"))
    except ValueError:
        raise WindowError(param, f"{value!r} is not an ISO date (YYYY-MM-DD) or datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def parse_window(start: str | None, end: str | None, *, now: dt.datetime) -> Window:
    """The window for ``startDate``/``endDate``; default: the current UTC month up to now."""
    month_start = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start_at = _parse("startDate", start, end=False) if start else month_start
    end_at = _parse("endDate", end, end=True) if end else now
    try:
        window = Window(to_us(start_at), to_us(end_at))
    except OverflowError:
        raise WindowError("startDate", "is out of range") from None
    if window.end_us <= window.start_us:
        raise WindowError("endDate", "must be after startDate")
    return window
