"""``POST /aggregate``: recount the rollups of a range from raw events (the repair path).

Both grains are recounted: they come from the same events in one pass and must agree, so
``periodType`` only says which one the caller cares about (its differences are listed first).
Writers are held off while the range is recounted (SQLite: the write lock; PostgreSQL: a SHARE
lock on ``events``), so an event committed mid-rebuild can neither be lost nor counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine

from llmledger.analytics.window import Window, WindowError, iso
from llmledger.store.engine import begin_immediate
from llmledger.store.rebuild import rebuild_rollups
from llmledger.store.retention import pruned_before_us, retention_cutoff_us
from llmledger.store.rows import US_PER_DAY

PeriodType = Literal["hourly", "daily"]
_TABLES = {"hourly": "rollup_hour", "daily": "rollup_day"}


@dataclass(frozen=True, slots=True)
class RebuildDays:
    """The whole UTC days a rebuild recounts: ``[start_us, end_us)``."""

    start_us: int
    end_us: int
    #: the range asked began before the retention cutoff; the rebuild begins at the cutoff
    clipped: bool


class BeforeRetention(WindowError):
    """The whole range is older than the retention cutoff: nothing there can be recounted."""


def rebuild_days(start_us: int, end_us: int, cutoff_us: int) -> RebuildDays:
    """The days a rebuild of ``[start_us, end_us)`` recounts: widened to whole UTC days and
    begun no earlier than the retention cutoff (pruned events cannot be recounted). A range
    with nothing in it, or wholly before the cutoff, is a ``WindowError`` (it would do
    nothing, and "nothing to repair" would be a false all-clear); ``BeforeRetention`` for the
    latter."""
    start = start_us // US_PER_DAY * US_PER_DAY
    end = -(-end_us // US_PER_DAY) * US_PER_DAY
    if end <= start:
        raise WindowError("endDate", "must be after startDate")
    if end <= cutoff_us:
        raise BeforeRetention(
            "endDate",
            f"the range ends before the retention cutoff {iso(cutoff_us)}: its raw events "
            "are pruned and cannot be recounted",
        )
    return RebuildDays(max(start, cutoff_us), end, start < cutoff_us)


def rebuild_range(
    engine: Engine,
    *,
    period_type: PeriodType,
    window: Window,
    now_us: int,
    retention_days: int,
) -> dict[str, Any]:
    with engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            # a prune with a shorter retention may have reached further than this one would
            cutoff = max(retention_cutoff_us(now_us, retention_days), pruned_before_us(conn))
            days = rebuild_days(window.start_us, window.end_us, cutoff)
            report = rebuild_rollups(
                conn, start_us=days.start_us, end_us=days.end_us, cutoff_us=cutoff
            )
    first = _TABLES[period_type]
    order = [first, *(name for name in report.differences if name != first)]
    return {
        "periodType": period_type,
        "startDate": iso(report.start_us),
        "endDate": iso(report.end_us),
        "retentionCutoff": iso(report.cutoff_us),
        "clipped": days.clipped,
        "changed": report.changed,
        "differences": {
            name: len(report.differences[name]) for name in order if name in report.differences
        },
    }
