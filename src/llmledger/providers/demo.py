"""Provider reports for the demo: what OpenAI, Anthropic and Groq would report and bill for
the demo's tracked traffic of the last 30 days, with three planted differences, so the
reconciliation page has something to point at:

- an **untracked day**: five days ago OpenAI reports 40% more than was tracked, for every
  model (the capture was down for part of the day);
- a **mispriced model**: for the last six complete days Anthropic bills
  ``claude-3-5-haiku-20241022`` half again what it was tracked at, for the same tokens (a price
  change the catalog does not have);
- a **project that never used the SDK**: OpenAI's project ``proj_research`` used
  ``gpt-4o-mini`` on three days, twelve to ten days ago, and nothing of it was tracked.

Everything else is what was tracked, so nothing else is flagged. Each provider's project
(or workspace) is the organisation's id, as reconciliation by project matches them. The runs:
an import of each provider that ended ``ok`` (Anthropic's up to yesterday) and a failed
Anthropic import of today. Written straight into the report tables, as an import writes them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, insert, select

from llmledger.analytics.filters import Filters
from llmledger.analytics.source import aggregate
from llmledger.providers.groq import ESTIMATE_LINE_ITEM
from llmledger.providers.report import DAY_S
from llmledger.providers.tables import provider_costs, provider_imports, provider_usage

DAYS = 30
US = 1_000_000
UNTRACKED_DAY = 5  # days back
MISPRICED = ("anthropic", "claude-3-5-haiku-20241022")
MISPRICED_DAYS = range(1, 7)  # days back
NEVER_SDK = ("openai", "proj_research", "gpt-4o-mini")
NEVER_SDK_DAYS = range(10, 13)  # days back
FAILED = "anthropic: the provider kept failing (HTTP 529, overloaded) after 5 attempts"

Key = tuple[int, str, str]  # day, project, model


def _tracked(engine: Engine, provider: str, start: int, end: int) -> dict[Key, dict[str, int]]:
    with engine.connect() as conn:
        rows, _ = aggregate(
            conn,
            [(start * US, end * US)],
            Filters(provider=provider),
            dims=("bucket", "org_id", "model"),
            measures=("requests", "input_tokens", "output_tokens", "cost_nanos"),
        )
    out: dict[Key, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("requests", "input", "output", "cost"), 0)
    )
    for r in rows:
        key = (r["bucket"] - r["bucket"] % DAY_S, r["org_id"] or "", (r["model"] or "").lower())
        figures = out[key]
        figures["requests"] += r["requests"]
        figures["input"] += r["input_tokens"]
        figures["output"] += r["output_tokens"]
        figures["cost"] += r["cost_nanos"]
    return out


def _scaled(figures: dict[str, int], factor: float, cost_factor: float | None = None) -> Any:
    return {
        "requests": round(figures["requests"] * factor),
        "input": round(figures["input"] * factor),
        "output": round(figures["output"] * factor),
        "cost": round(figures["cost"] * (factor if cost_factor is None else cost_factor)),
    }


def planted(provider: str, tracked: dict[Key, dict[str, int]], today: int) -> dict[Key, Any]:
    """The provider's report: what was tracked, with the planted differences."""
    reported: dict[Key, Any] = {}
    for (day, project, model), figures in tracked.items():
        back = (today - day) // DAY_S
        if provider == "openai" and back == UNTRACKED_DAY:
            reported[(day, project, model)] = _scaled(figures, 1.4)
        elif (provider, model) == MISPRICED and back in MISPRICED_DAYS:
            reported[(day, project, model)] = _scaled(figures, 1, cost_factor=1.5)
        else:
            reported[(day, project, model)] = dict(figures)
    if provider == NEVER_SDK[0]:
        for back in NEVER_SDK_DAYS:
            day = today - back * DAY_S
            same = [f for (d, _, m), f in tracked.items() if d == day and m == NEVER_SDK[2]]
            extra = {k: sum(f[k] for f in same) // 2 for k in ("requests", "input", "output")}
            extra["input"] += 200_000
            extra["output"] += 40_000
            extra["requests"] += 120
            # gpt-4o-mini's list price: $0.15 (input) and $0.60 (output) per million tokens
            extra["cost"] = extra["input"] * 150 + extra["output"] * 600
            reported[(day, NEVER_SDK[1], NEVER_SDK[2])] = extra
    return reported


def _line_item(provider: str, model: str) -> str:
    if provider == "groq":
        return ESTIMATE_LINE_ITEM
    return f"{model}, input and output" if provider == "openai" else f"{model} usage - tokens"


def _run(
    provider: str, start: int, end: int, at_us: int, *, state: str, rows: tuple[int, int]
) -> dict[str, Any]:
    return {
        "provider": provider,
        "start_day": start,
        "end_day": end,
        "state": state,
        "usage_rows": rows[0],
        "cost_rows": rows[1],
        "error": FAILED if state == "failed" else None,
        "started_us": at_us,
        "finished_us": at_us + 4 * US,
        "trigger": "schedule",
    }


def write_demo_reports(engine: Engine, *, now: dt.datetime | None = None) -> int:
    """Seed the report tables for the demo's last 30 days (once: a database that already
    holds an import is left alone); returns the number of rows written."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    today = int(dt.datetime.combine(moment.date(), dt.time(), dt.UTC).timestamp())
    start, end = today - (DAYS - 1) * DAY_S, today + DAY_S
    at_us = int(moment.timestamp() * US) - 3600 * US
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(provider_imports)).scalar_one():
            return 0
    written = 0
    runs: list[tuple[str, int, int, str, Callable[[int], bool]]] = [
        ("openai", start, end, "ok", lambda day: True),
        ("anthropic", start, today, "ok", lambda day: day < today),
        ("groq", start, end, "ok", lambda day: True),
    ]
    for provider, first, last, state, covered in runs:
        reported = planted(provider, _tracked(engine, provider, first, last), today)
        with engine.begin() as conn:
            run_id = _insert_run(conn, _run(provider, first, last, at_us, state=state, rows=(0, 0)))
            usage, costs = _rows(provider, reported, run_id, covered)
            if usage:
                conn.execute(insert(provider_usage), usage)
            if costs:
                conn.execute(insert(provider_costs), costs)
            conn.execute(
                provider_imports.update()
                .where(provider_imports.c.id == run_id)
                .values(usage_rows=len(usage), cost_rows=len(costs))
            )
        written += len(usage) + len(costs)
    with engine.begin() as conn:
        _insert_run(conn, _run("anthropic", today, end, at_us, state="failed", rows=(0, 0)))
    return written


def _insert_run(conn: Any, values: dict[str, Any]) -> int:
    inserted = conn.execute(insert(provider_imports).values(**values)).inserted_primary_key
    return int(inserted[0])


def _rows(
    provider: str, reported: dict[Key, Any], run_id: int, covered: Callable[[int], bool]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    usage, costs = [], []
    other_days: set[int] = set()
    for (day, project, model), f in sorted(reported.items()):
        if not covered(day):
            continue
        base = {"provider": provider, "day": day, "project": project, "import_id": run_id}
        usage.append(
            {
                **base,
                "model": model,
                # Anthropic's usage report has no request count
                "requests": None if provider == "anthropic" else f["requests"],
                "input_tokens": f["input"],
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "output_tokens": f["output"],
            }
        )
        costs.append(
            {
                **base,
                "line_item": _line_item(provider, model),
                "model": model,
                "cost_nanos": f["cost"],
            }
        )
        other_days.add(day)
    if provider != "groq":  # a charge naming no model: a tool, shown beside the comparison
        item = "Web search tool calls" if provider == "openai" else "Web Search"
        for day in sorted(other_days)[::3]:
            costs.append(
                {
                    "provider": provider,
                    "day": day,
                    "project": "",
                    "line_item": item,
                    "model": "",
                    "cost_nanos": 250_000_000,
                    "import_id": run_id,
                }
            )
    return usage, costs
