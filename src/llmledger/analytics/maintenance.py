"""``POST /aggregate``: recount the rollups of a range from raw events (the repair path).

Both grains are recounted: they come from the same events in one pass and must agree, so
``periodType`` only says which one the caller cares about (its differences are listed first).
Writers are held off while the range is recounted (SQLite: the write lock; PostgreSQL: a SHARE
lock on ``events``), so an event committed mid-rebuild can neither be lost nor counted twice.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Engine

from llmledger.analytics.window import Window, iso
from llmledger.store.engine import begin_immediate
from llmledger.store.rebuild import rebuild_rollups
from llmledger.store.retention import retention_cutoff_us

PeriodType = Literal["hourly", "daily"]
_TABLES = {"hourly": "rollup_hour", "daily": "rollup_day"}


def rebuild_range(
    engine: Engine,
    *,
    period_type: PeriodType,
    window: Window,
    now_us: int,
    retention_days: int,
) -> dict[str, Any]:
    cutoff = retention_cutoff_us(now_us, retention_days)
    with engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            report = rebuild_rollups(
                conn, start_us=window.start_us, end_us=window.end_us, cutoff_us=cutoff
            )
    first = _TABLES[period_type]
    order = [first, *(name for name in report.differences if name != first)]
    return {
        "periodType": period_type,
        "startDate": iso(report.start_us),
        "endDate": iso(report.end_us),
        "retentionCutoff": iso(report.cutoff_us),
        "changed": report.changed,
        "differences": {
            name: len(report.differences[name]) for name in order if name in report.differences
        },
    }
