"""Migration 0007 (open days) on a database that has day rows for today."""

from __future__ import annotations

import time

from sqlalchemy import func, insert, select

from llmledger.settings import Settings
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.engine import make_engine
from llmledger.store.migrate import downgrade, upgrade


def _row(bucket: int, cost: int) -> dict:
    dims = {"org_id": "acme", "provider": "openai", "model": "gpt-4o", "success": True}
    return {"bucket": bucket, **dims, "cost_nanos": cost, "requests": 1, "events": 1}


def _costs(conn, table) -> dict[int, int]:
    c = table.c
    day = c.bucket - c.bucket % 86400
    return {
        int(d): int(v) for d, v in conn.execute(select(day, func.sum(c.cost_nanos)).group_by(day))
    }


def test_upgrade_opens_today_and_downgrade_gives_its_day_rows_back(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path))
    upgrade(engine, "0006_model_rollups")
    today = int(time.time()) // 86400 * 86400
    past = today - 5 * 86400
    hours = [_row(past + 3600, 5), _row(past + 7200, 6), _row(today, 7), _row(today + 60, 8)]
    days = [_row(past, 11), _row(today, 15)]
    with engine.begin() as conn:
        for hourly, daily in (
            (t.rollup_hour, t.rollup_day),
            (t.rollup_hour_model, t.rollup_day_model),
        ):
            extra = {"agent": "", "operation": "", "tier": ""} if hourly is t.rollup_hour else {}
            conn.execute(insert(hourly), [{**r, **extra} for r in hours])
            conn.execute(insert(daily), [{**r, **extra} for r in days])
    upgrade(engine)
    with engine.connect() as conn:
        assert open_days.open_from(conn) == today
        assert _costs(conn, t.rollup_day) == {past: 11}  # today's day row went
        assert _costs(conn, t.rollup_day_model) == {past: 11}
        assert _costs(conn, t.rollup_hour) == {past: 11, today: 15}  # its hours hold it
    downgrade(engine, "0006_model_rollups")
    with engine.connect() as conn:
        assert _costs(conn, t.rollup_day) == {past: 11, today: 15}
        assert _costs(conn, t.rollup_day_model) == {past: 11, today: 15}
    engine.dispose()
