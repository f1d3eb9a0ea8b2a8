"""The ranges a question is asked over (microseconds since the epoch, UTC), and how an answer
names the range it counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from llmledger.analytics.source import Kind, counted
from llmledger.analytics.spans import Range
from llmledger.analytics.window import Window, day_start, iso, month_start
from llmledger.store.rows import to_us


def previous(current: Range) -> Range:
    """The equal-length range just before ``current``."""
    start, end = current
    return start - (end - start), start


def month_to_date(now: dt.datetime) -> Range:
    """This UTC month up to ``now``: the default window."""
    return to_us(month_start(now)), to_us(now)


def today(now: dt.datetime) -> Range:
    return to_us(day_start(now)), to_us(now)


def range_json(range_: Range) -> dict[str, Any]:
    return {"startDate": iso(range_[0]), "endDate": iso(range_[1])}


def count(window: Window, kind: Kind) -> Range:
    """The range an answer from ``kind`` counts for ``window``: the window itself, unless an
    edge lies before the raw events (see ``source.counted``)."""
    return counted(window.range, kind, raw_from_us=window.raw_from_us)


def window_json(window: Window, current: Range, kind: Kind) -> dict[str, Any]:
    """``startDate``/``endDate`` (the window asked) and ``widened``: ``None`` when ``current``,
    the range counted from ``kind``, is that window; else the range counted and why."""
    if current == window.range:
        return {**window.as_json(), "widened": None}
    unit, store = ("hours", "the rollups") if kind == "rollup" else ("days", "user_day")
    reason = (
        f"raw events before {iso(window.raw_from_us)} are past the retention: "
        f"the edges before it are counted in whole {unit} from {store}"
    )
    return {**window.as_json(), "widened": {**range_json(current), "reason": reason}}
