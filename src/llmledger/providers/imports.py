"""Importing a provider's reports for a range of UTC days: fetch every page first, then
replace the range's rows in one transaction, so that re-importing never duplicates, a failed
or killed import leaves the previous rows whole, and each run is logged in
``provider_imports``. Keys come from the environment (``OPENAI_ADMIN_KEY``,
``ANTHROPIC_ADMIN_KEY``, ``GROQ_API_KEY``) unless given."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, update

from llmledger.metrics import metrics
from llmledger.pricing.cost import Pricer, StoredUsage
from llmledger.pricing.seed import load_price_book
from llmledger.providers import anthropic, credentials, groq, lease, openai
from llmledger.providers.errors import NoKey, RangeError
from llmledger.providers.report import DAY_S, Report
from llmledger.providers.tables import (
    provider_costs,
    provider_imports,
    provider_usage,
    provider_usage_metrics,
)
from llmledger.settings import Settings

PROVIDERS = ("openai", "anthropic", "groq")
_MODULES: dict[str, Any] = {"openai": openai, "anthropic": anthropic, "groq": groq}
#: the setting holding each provider's base URL
_URLS = {
    "openai": "openai_admin_url",
    "anthropic": "anthropic_admin_url",
    "groq": "groq_metrics_url",
}
#: the environment variable holding each provider's key
KEY_VARIABLES: dict[str, str] = {p: m.KEY_VARIABLE for p, m in _MODULES.items()}
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
    metric_rows: int = 0


def key_for(provider: str, environ: dict[str, str] | None = None) -> str:
    module = _MODULES[provider]
    key = (environ if environ is not None else os.environ).get(module.KEY_VARIABLE, "").strip()
    if not key:
        raise NoKey(
            f"{provider}: no admin key; set {module.KEY_VARIABLE} or store one with "
            f"PUT /api/v1/admin/providers/{provider}/credentials"
        )
    return key


def resolve_key(engine: Engine, settings: Settings, provider: str, now_us: int) -> str:
    """The key an admin stored for ``provider``, else its environment variable's."""
    stored = credentials.stored_key(
        engine, provider, secret=settings.resolved_secret_key(), now_us=now_us
    )
    return stored if stored is not None else key_for(provider)


def base_url(settings: Settings, provider: str) -> str:
    url: str = getattr(settings, _URLS[provider])
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


def estimate_costs(engine: Engine, report: Report, line_item: str) -> None:
    """Costs of a report that has none (Groq), priced from llmledger's catalog as events are:
    the price in force on each day, the fallback for a model no catalog knows."""
    with engine.connect() as conn:
        pricer = Pricer(load_price_book(conn))
    for (day, project, model), counts in sorted(report.usage.items()):
        usage = StoredUsage(
            input_tokens=counts["input_tokens"] or 0,
            output_tokens=counts["output_tokens"] or 0,
            requests=0,  # no per-request fee: requests are approximate
        )
        at = dt.datetime.fromtimestamp(day, dt.UTC)
        priced = pricer.price_usage(report.provider, model, at, usage)
        report.add_cost((day, project, line_item, model), priced.cost_nanos)


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
    trigger: str = "cli",
    **seams: Any,
) -> ImportResult:
    """Import ``[start_day, end_day)`` (Unix seconds, whole UTC days). Raises ``ReportError``
    (logged as a failed run) when it cannot; nothing of the range is changed then. Raises
    ``ImportBusy`` (and logs nothing) while another import of the provider holds its lease."""
    check_range(provider, start_day, end_day)
    secret = key if key is not None else resolve_key(engine, settings, provider, clock_us())
    holder = lease.new_holder()
    held = lease.take(engine, provider, holder, clock_us())
    if held is not None:
        raise lease.ImportBusy(
            f"{provider}: another import is running ({held.holder}); try again when it is done"
        )
    try:
        result = _run(
            engine, settings, provider, start_day, end_day, secret, holder, clock_us, trigger, seams
        )
    except Exception:
        metrics().import_ran(provider, "failed")
        raise
    finally:
        lease.give_back(engine, provider, holder)
    metrics().import_ran(provider, "ok")
    return result


def check_range(provider: str, start_day: int, end_day: int) -> None:
    if provider not in PROVIDERS:
        raise RangeError(
            f"{provider!r} is not a provider llmledger imports ({', '.join(PROVIDERS)})"
        )
    if start_day % DAY_S or end_day % DAY_S:
        raise RangeError("a range of whole UTC days is imported")
    if end_day <= start_day:
        raise RangeError("the range is empty: its end is not after its start")
    if end_day - start_day > MAX_DAYS * DAY_S:
        raise RangeError(f"at most {MAX_DAYS} days are imported at once")


def _run(
    engine: Engine,
    settings: Settings,
    provider: str,
    start_day: int,
    end_day: int,
    secret: str,
    holder: str,
    clock_us: Callable[[], int],
    trigger: str,
    seams: dict[str, Any],
) -> ImportResult:
    with engine.begin() as conn:
        inserted = conn.execute(
            insert(provider_imports).values(
                provider=provider,
                start_day=start_day,
                end_day=end_day,
                state="running",
                usage_rows=0,
                cost_rows=0,
                metric_rows=0,
                started_us=clock_us(),
                trigger=trigger,
            )
        ).inserted_primary_key
    assert inserted is not None
    run_id = int(inserted[0])
    lease.attach(engine, provider, holder, run_id)
    renew = lease.Renewer(engine, provider, holder, clock_us)
    told = seams.pop("on_page", None)

    def on_page(path: str, number: int) -> None:
        if told is not None:
            told(path, number)
        renew()  # a long run keeps its lease; one that lost it stops here

    try:
        report = fetch_report(
            settings, provider, start_day, end_day, key=secret, on_page=on_page, **seams
        )
        module = _MODULES[provider]
        if getattr(module, "ESTIMATES_COSTS", False):
            estimate_costs(engine, report, module.ESTIMATE_LINE_ITEM)
        return _replace(engine, provider, start_day, end_day, report, (run_id, holder), clock_us)
    except Exception as exc:
        _finish(engine, run_id, clock_us, state="failed", error=str(exc) or type(exc).__name__)
        raise


def _replace(
    engine: Engine,
    provider: str,
    start_day: int,
    end_day: int,
    report: Report,
    run: tuple[int, str],
    clock_us: Callable[[], int],
) -> ImportResult:
    """The range's rows replaced by the report's, and the run marked done, in one transaction
    that first renews the run's lease: a run that lost it writes nothing."""
    run_id, holder = run
    with engine.begin() as conn:
        lease.hold(conn, provider, holder, clock_us())
        for table in (provider_usage, provider_costs, provider_usage_metrics):
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
        metrics = [
            {
                "provider": provider,
                "day": d,
                "project": p,
                "model": m,
                "metric": name,
                "value": v,
                "import_id": run_id,
            }
            for (d, p, m, name), v in sorted(report.metrics.items())
        ]
        if usage:
            conn.execute(insert(provider_usage), usage)
        if costs:
            conn.execute(insert(provider_costs), costs)
        if metrics:
            conn.execute(insert(provider_usage_metrics), metrics)
        conn.execute(
            update(provider_imports)
            .where(provider_imports.c.id == run_id)
            .values(
                state="ok",
                usage_rows=len(usage),
                cost_rows=len(costs),
                metric_rows=len(metrics),
                finished_us=clock_us(),
            )
        )
    return ImportResult(run_id, provider, start_day, end_day, len(usage), len(costs), len(metrics))


def _finish(
    engine: Engine, run_id: int, clock_us: Callable[[], int], *, state: str, error: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(provider_imports)
            .where(provider_imports.c.id == run_id)
            .values(state=state, error=error[:2000], finished_us=clock_us())
        )
