"""Importing a provider's reports for a range of UTC days: fetch every page first, then
replace the range's rows in one transaction, so that re-importing never duplicates, a failed
or killed import leaves the previous rows whole, and each run is logged in
``provider_imports``. Keys come from the environment (``OPENAI_ADMIN_KEY``,
``ANTHROPIC_ADMIN_KEY``) unless given."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, update

from llmledger.metrics import metrics
from llmledger.providers import anthropic, openai
from llmledger.providers.errors import ReportError
from llmledger.providers.report import DAY_S, Report
from llmledger.providers.tables import provider_costs, provider_imports, provider_usage
from llmledger.settings import Settings

PROVIDERS = ("openai", "anthropic")
_MODULES: dict[str, Any] = {"openai": openai, "anthropic": anthropic}
#: longest range one import may ask for
MAX_DAYS = 3660


@dataclass(frozen=True)
class ImportResult:
    id: int
    provider: str
    start_day: int
    end_day: int
    usage_rows: int
    cost_rows: int


def key_for(provider: str, environ: dict[str, str] | None = None) -> str:
    module = _MODULES[provider]
    key = (environ if environ is not None else os.environ).get(module.KEY_VARIABLE, "").strip()
    if not key:
        raise ReportError(f"{provider}: no admin key; set {module.KEY_VARIABLE}")
    return key


def base_url(settings: Settings, provider: str) -> str:
    url: str = getattr(settings, f"{provider}_admin_url")
    return url


def fetch_report(
    settings: Settings, provider: str, start_day: int, end_day: int, *, key: str, **seams: Any
) -> Report:
    """Every page of the provider's usage and cost reports for ``[start_day, end_day)``."""
    module = _MODULES[provider]
    report = Report(provider, start_day, end_day)
    with module.client(base_url(settings, provider), key, **seams) as api:
        module.fetch(api, report)
    return report


def _now_us() -> int:
    return time.time_ns() // 1000


def run_import(
    engine: Engine,
    settings: Settings,
    provider: str,
    *,
    start_day: int,
    end_day: int,
    key: str | None = None,
    clock_us: Callable[[], int] = _now_us,
    **seams: Any,
) -> ImportResult:
    """Import ``[start_day, end_day)`` (Unix seconds, whole UTC days). Raises ``ReportError``
    (logged as a failed run) when it cannot; nothing of the range is changed then."""
    if provider not in PROVIDERS:
        raise ReportError(
            f"{provider!r} is not a provider llmledger imports ({', '.join(PROVIDERS)})"
        )
    if start_day % DAY_S or end_day % DAY_S:
        raise ReportError("a range of whole UTC days is imported")
    if end_day <= start_day:
        raise ReportError("the range is empty: its end is not after its start")
    if end_day - start_day > MAX_DAYS * DAY_S:
        raise ReportError(f"at most {MAX_DAYS} days are imported at once")
    try:
        result = _run(
            engine,
            settings,
            provider,
            start_day=start_day,
            end_day=end_day,
            key=key,
            clock_us=clock_us,
            **seams,
        )
    except Exception:
        metrics().import_ran(provider, "failed")
        raise
    metrics().import_ran(provider, "ok")
    return result


def _run(
    engine: Engine,
    settings: Settings,
    provider: str,
    *,
    start_day: int,
    end_day: int,
    key: str | None,
    clock_us: Callable[[], int],
    **seams: Any,
) -> ImportResult:
    secret = key if key is not None else key_for(provider)
    with engine.begin() as conn:
        inserted = conn.execute(
            insert(provider_imports).values(
                provider=provider,
                start_day=start_day,
                end_day=end_day,
                state="running",
                usage_rows=0,
                cost_rows=0,
                started_us=clock_us(),
            )
        ).inserted_primary_key
    assert inserted is not None
    run_id = int(inserted[0])
    try:
        report = fetch_report(settings, provider, start_day, end_day, key=secret, **seams)
    except ReportError as exc:
        _finish(engine, run_id, clock_us, state="failed", error=str(exc))
        raise
    with engine.begin() as conn:
        for table in (provider_usage, provider_costs):
            conn.execute(
                delete(table).where(
                    table.c.provider == provider,
                    table.c.day >= start_day,
                    table.c.day < end_day,
                )
            )
        usage = [
            {"provider": provider, "day": d, "project": p, "model": m, "import_id": run_id, **v}
            for (d, p, m), v in sorted(report.usage.items())
        ]
        costs = [
            {
                "provider": provider,
                "day": d,
                "project": p,
                "line_item": item,
                "model": m,
                "cost_nanos": v,
                "import_id": run_id,
            }
            for (d, p, item, m), v in sorted(report.costs.items())
        ]
        if usage:
            conn.execute(insert(provider_usage), usage)
        if costs:
            conn.execute(insert(provider_costs), costs)
        conn.execute(
            update(provider_imports)
            .where(provider_imports.c.id == run_id)
            .values(state="ok", usage_rows=len(usage), cost_rows=len(costs), finished_us=clock_us())
        )
    return ImportResult(run_id, provider, start_day, end_day, len(usage), len(costs))


def _finish(
    engine: Engine, run_id: int, clock_us: Callable[[], int], *, state: str, error: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(provider_imports)
            .where(provider_imports.c.id == run_id)
            .values(state=state, error=error[:2000], finished_us=clock_us())
        )
