"""The range of whole UTC days a provider-reports API and its page both read:
``startDate``/``endDate`` (``YYYY-MM-DD``, both inclusive; default: this month up to today).
A bad value is a ``DayError`` naming its parameter, which the API answers as a 422 and a
page shows as one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Query

DAY_S = 86400
MAX_DAYS = 3660


class DayError(ValueError):
    """A ``startDate``/``endDate`` that is not a range of whole UTC days (names it)."""


def day_of(param: str, value: str | None, default: dt.date) -> int:
    if value is None:
        day = default
    else:
        try:
            if len(value) != 10:
                raise ValueError
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise DayError(
                f"{param}: {value!r} is not a date (YYYY-MM-DD, a whole UTC day)"
            ) from None
        if not 1970 <= day.year <= 2999:
            raise DayError(f"{param}: must be between 1970 and 2999")
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())


def day_range(start_date: str | None, end_date: str | None, now: dt.datetime) -> tuple[int, int]:
    """``[start, end)`` in Unix seconds of whole UTC days."""
    today = now.astimezone(dt.UTC).date()
    start = day_of("startDate", start_date, today.replace(day=1))
    end = day_of("endDate", end_date, today) + DAY_S
    if end <= start:
        raise DayError("endDate: must not be before startDate")
    if end - start > MAX_DAYS * DAY_S:
        raise DayError(f"startDate: at most {MAX_DAYS} days are asked for at once")
    return start, end


#: the query parameters every provider-reports endpoint takes
StartDate = Annotated[
    str | None, Query(alias="startDate", max_length=10, description="First UTC day (YYYY-MM-DD).")
]
EndDate = Annotated[
    str | None, Query(alias="endDate", max_length=10, description="Last UTC day, inclusive.")
]
Provider = Literal["openai", "anthropic", "groq"]
