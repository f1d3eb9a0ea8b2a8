"""What ``reconciliation_drift`` rules add to an alert round, next to baselines measured in the
same run.

The database: ``--models`` models for each of openai, anthropic and groq, tracked every hour of
``--days`` days (events through the real writer, rollups and all), and the providers' reports
for every one of those days (usage and cost rows per day and model, one ``ok`` import each
covering them, finished after they ended). One model of each provider drifts on one day.

Timed, each ``--runs`` times after one warm-up, at an instant of the day after the data:

- ``drift``: the evaluation of ``--rules`` drift rules (global and per provider, several
  thresholds: what ``GET /alerts/status`` computes for them);
- baselines: one reconciliation of the same 7 days by model for all providers
  (``GET /reconciliation?groupBy=model``, what the reconciliation page asks), and the
  evaluation of one global daily limit.

    .venv/bin/python benchmarks/drift.py [--days 14] [--models 50] [--rules 10] [--runs 5]
                                         [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmledger.alerts.evaluate import evaluate
from llmledger.alerts.rules import Rule, parse_rule
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.providers.reconcile import reconcile
from llmledger.providers.tables import provider_costs, provider_imports, provider_usage
from llmledger.settings import Settings

D0 = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
DAY = 86400
US = 1_000_000
PROVIDERS = ("openai", "anthropic", "groq")


def rules(n: int) -> list[Rule]:
    out = []
    for i in range(n):
        body: dict[str, Any] = {"name": f"drift {i}", "alertType": "reconciliation_drift"}
        if i % 4:
            body["provider"] = PROVIDERS[i % 3]
        if i % 2:
            body["thresholdPercent"] = [1, 2, 5, 10][i % 4]
        values = parse_rule(body).values
        out.append(Rule(id=i + 1, created_us=0, updated_us=0, **values))
    return out


def build(ledger: Ledger, days: int, models: int) -> int:
    """The tracked events and the reports; the number of events."""
    written = 0
    usage, costs = [], []
    for provider in PROVIDERS:
        for m in range(models):
            model = f"{provider}-model-{m:02d}"
            for d in range(days):
                events = [
                    UsageEvent(
                        event_id=uuid.uuid4(),
                        timestamp=dt.datetime.fromtimestamp(D0 + d * DAY + h * 3600, dt.UTC),
                        provider=provider,
                        model=model,
                        input_tokens=1000,
                        output_tokens=200,
                        cost_usd=Decimal("0.01"),
                    )
                    for h in range(24)
                ]
                written += ledger.write(events).accepted
                drifts = m == 7 and d == days - 3
                usage.append(
                    {
                        "provider": provider,
                        "day": D0 + d * DAY,
                        "project": "",
                        "model": model,
                        "requests": 24,
                        "input_tokens": 24_000,
                        "cache_read_tokens": 0,
                        "cache_write_tokens": 0,
                        "output_tokens": 4_800,
                        "import_id": 1,
                    }
                )
                costs.append(
                    {
                        "provider": provider,
                        "day": D0 + d * DAY,
                        "project": "",
                        "line_item": f"{model}, input",
                        "model": model,
                        "cost_nanos": (300_000_000 if drifts else 240_000_000),
                        "import_id": 1,
                    }
                )
    with ledger.engine.begin() as conn:
        conn.execute(provider_usage.insert(), usage)
        conn.execute(provider_costs.insert(), costs)
        for provider in PROVIDERS:
            conn.execute(
                provider_imports.insert().values(
                    provider=provider,
                    start_day=D0,
                    end_day=D0 + days * DAY,
                    state="ok",
                    usage_rows=0,
                    cost_rows=0,
                    started_us=(D0 + days * DAY) * US,
                    finished_us=(D0 + days * DAY + 60) * US,
                )
            )
    return written


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    run()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--rules", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url)
        ledger = Ledger.open(settings)
        try:
            events = build(ledger, args.days, args.models)
            now = dt.datetime.fromtimestamp(D0 + args.days * DAY + 9 * 3600, dt.UTC)
            today = D0 + args.days * DAY
            drift_rules = rules(args.rules)
            daily = Rule(
                id=10_000,
                created_us=0,
                updated_us=0,
                **parse_rule(
                    {"name": "daily", "alertType": "daily_limit", "thresholdCents": 100}
                ).values,
            )
            with ledger.engine.connect() as conn:
                states = evaluate(conn, drift_rules, now=now)
                drift = timed(lambda: evaluate(conn, drift_rules, now=now), args.runs)
                page = timed(
                    lambda: reconcile(
                        conn,
                        start_day=today - 7 * DAY,
                        end_day=today,
                        group_by="model",
                        drift_percent=Decimal(2),
                    ),
                    args.runs,
                )
                one = timed(lambda: evaluate(conn, [daily], now=now), args.runs)
        finally:
            ledger.close()
    fired = sum(len(s.findings) for s in states)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{backend}: {events:,} events, {len(PROVIDERS)} providers x {args.models} models x "
        f"{args.days} days; {len(drift_rules)} drift rules, {fired} findings"
    )
    p50 = statistics.median
    print("| what | p50 ms | min ms | ratio to the reconciliation |")
    print("|---|---:|---:|---:|")
    for name, times in (
        (f"{len(drift_rules)} drift rules", drift),
        ("reconciliation of the 7 days by model (baseline)", page),
        ("1 global daily limit (baseline)", one),
    ):
        print(f"| {name} | {p50(times):.1f} | {min(times):.1f} | {p50(times) / p50(page):.2f} |")


if __name__ == "__main__":
    main()
