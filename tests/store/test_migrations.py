"""Migrations keep existing data: the narrow rollups are filled from the wide ones."""

from __future__ import annotations

import sqlalchemy as sa

from llmledger.settings import Settings
from llmledger.store import migrate
from llmledger.store import tables as t
from llmledger.store.engine import make_engine


def test_narrow_rollups_are_backfilled_from_existing_wide_rollups(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/m.db"))
    migrate.upgrade(engine, "0005_pricing_jobs")
    zeros = dict.fromkeys(t.ROLLUP_MEASURES, 0)
    rows = [
        {
            "bucket": 3600,
            "org_id": "acme",
            "provider": "openai",
            "model": "gpt-4o",
            "agent": agent,
            "operation": "chat",
            "tier": "",
            "success": True,
            **zeros,
            "requests": 2,
            "events": 2,
            "cost_nanos": cost,
        }
        for agent, cost in (("CIA", 100), ("IRIS", 250))
    ]
    with engine.begin() as conn:
        conn.execute(t.rollup_hour.insert(), rows)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        got = conn.execute(sa.select(t.rollup_hour_model)).mappings().all()
    engine.dispose()
    assert len(got) == 1
    assert got[0]["cost_nanos"] == 350 and got[0]["requests"] == 4 and got[0]["model"] == "gpt-4o"
