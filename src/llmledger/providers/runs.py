"""The log of imports as plain data: the latest runs, newest first, and which providers have
a key configured."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from llmledger.analytics.window import iso, iso_s
from llmledger.providers.imports import KEY_VARIABLES, PROVIDERS
from llmledger.providers.report import DAY_S
from llmledger.providers.tables import provider_credentials, provider_imports


def run_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "provider": row.provider,
        "startDate": iso_s(row.start_day)[:10],
        "endDate": iso_s(row.end_day - DAY_S)[:10],
        "state": row.state,
        "trigger": row.trigger,
        "usageRows": row.usage_rows,
        "costRows": row.cost_rows,
        "metricRows": row.metric_rows,
        "error": row.error,
        "startedAt": iso(row.started_us),
        "finishedAt": iso(row.finished_us) if row.finished_us is not None else None,
    }


def configured(conn: Connection, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Each provider's key variable, whether it is set, and whether an admin stored a key."""
    env = environ if environ is not None else os.environ
    stored = set(conn.execute(select(provider_credentials.c.provider)).scalars())
    return [
        {
            "provider": p,
            "keyVariable": KEY_VARIABLES[p],
            "keyConfigured": bool(env.get(KEY_VARIABLES[p], "").strip()) or p in stored,
            "keyStored": p in stored,
        }
        for p in PROVIDERS
    ]


def latest_runs(
    conn: Connection, *, provider: str | None = None, limit: int = 50, before: int | None = None
) -> list[dict[str, Any]]:
    """The runs newest first; ``before`` (a run id) pages on to the older ones."""
    c = provider_imports.c
    q = select(provider_imports).order_by(c.id.desc()).limit(limit)
    if provider is not None:
        q = q.where(c.provider == provider)
    if before is not None:
        q = q.where(c.id < before)
    return [run_json(r) for r in conn.execute(q)]
