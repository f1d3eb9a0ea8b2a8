"""One alert round of 1,000 rules over the benchmark database, next to baselines measured in
the same run.

The database is the one ``benchmarks/queries.py`` builds (the demo's mix of organisations,
users, agents, models and providers, every rollup written by the writer's own code), at the
daily density of 10M events over 90 days (111,111 events a day) over ``--days`` days. The
rules mix every type (daily, weekly, monthly, cost spike, forecast overrun, error rate), eight
scope shapes (global, organisation, organisation + agent, organisation + user, organisation +
model, agent, provider, model) and five zones (UTC, Europe/Berlin, America/New_York,
Asia/Tokyo and Asia/Kolkata, whose half-hour days read raw events at their edges).

Timed, each ``--runs`` times after one warm-up, at an instant in the last day of data:

- ``evaluate``: the state of the 1,000 rules (what ``GET /alerts/status`` computes), as the
  code asks it (shapes of one store together, grouped by all their columns) and with one
  question per scope shape (the two answers must be equal);
- ``round``: ``check`` in its steady state, as ``llmledger serve`` runs it every minute once
  the crossed rules have fired (their firings exist: only the evaluation and one look-up per
  crossed rule remain);
- baselines: the same round of 1 rule (a global daily limit), and ``GET /global`` over the
  month so far.

The first round, which fires every crossed rule (their contributors counted, their firings
written), is timed once and reported beside them.

    .venv/bin/python benchmarks/alerts.py [--db PATH (reuse a loaded database)] [--days 60]
                                          [--rules 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
import queries  # the database builder, beside this file

from llmledger.alerts import evaluate as evaluation
from llmledger.alerts.check import check, raw_from
from llmledger.alerts.evaluate import evaluate
from llmledger.alerts.rules import Rule, parse_rule
from llmledger.alerts.tables import alert_deliveries, alert_firings, alert_rules
from llmledger.analytics.filters import Filters
from llmledger.analytics.overview import overview
from llmledger.analytics.window import Window
from llmledger.demo import AGENTS, MODELS, ORG_NAMES
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store import tables as t
from llmledger.store.rows import to_us

EVENTS_PER_DAY = 10_000_000 // 90
END_DAY = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 10, 31, 14, 37, 12, tzinfo=dt.UTC)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata")
TYPES = (
    ("daily_limit", 30),
    ("weekly_limit", 15),
    ("monthly_limit", 20),
    ("cost_spike", 15),
    ("forecast_overrun", 10),
    ("error_rate", 10),
)
SHAPES = ("global", "org", "org+agent", "org+user", "org+model", "agent", "provider", "model")
BENCH = "bench: "


def rule_bodies(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` rule bodies of every type, scope shape and zone, over labels the data holds."""
    rng = random.Random(seed)
    kinds = [k for k, w in TYPES for _ in range(w)]
    out = []
    for i in range(n):
        kind, shape = kinds[i % len(kinds)], SHAPES[i % len(SHAPES)]
        org = rng.choice(ORG_NAMES[:12])
        model = rng.choice(MODELS)
        scope: dict[str, str] = {}
        if shape.startswith("org"):
            scope["orgId"] = org
        if shape.endswith("agent"):
            scope["agent"] = rng.choice(AGENTS)
        if shape == "org+user":
            scope["userId"] = f"{org}-u{rng.randint(0, 2):02d}"
        if shape.endswith("model"):
            scope["model"] = model.model
        if shape == "provider":
            scope["provider"] = model.provider
        body: dict[str, Any] = {
            "name": f"{BENCH}{i}",
            "alertType": kind,
            "timezone": ZONES[i % len(ZONES)],
            **scope,
        }
        if kind == "error_rate":
            body["thresholdPercent"] = rng.choice([1, 2, 5, 10])
        elif kind != "cost_spike":
            body["thresholdCents"] = rng.choice([1_000, 10_000, 100_000, 1_000_000, 10_000_000])
        out.append(body)
    return out


def store_rules(engine: sa.Engine, bodies: list[dict[str, Any]]) -> list[Rule]:
    """Write the rules (the seeded defaults switched off) and read them back."""
    with engine.begin() as conn:
        conn.execute(sa.update(alert_rules).values(is_active=False))
        for body in bodies:
            values = parse_rule(body, allow_private=True).values
            conn.execute(alert_rules.insert().values(**values, created_us=0, updated_us=0))
        rows = conn.execute(
            sa.select(alert_rules).where(alert_rules.c.name.startswith(BENCH))
        ).all()
    return [Rule.from_row(r) for r in rows]


def clean(engine: sa.Engine) -> None:
    """Leave the database as it was: no bench rules, no firings of them, defaults back on."""
    with engine.begin() as conn:
        ids = sa.select(alert_rules.c.id).where(alert_rules.c.name.startswith(BENCH))
        firings = sa.select(alert_firings.c.id).where(alert_firings.c.rule_id.in_(ids))
        conn.execute(sa.delete(alert_deliveries).where(alert_deliveries.c.firing_id.in_(firings)))
        conn.execute(sa.delete(alert_firings).where(alert_firings.c.rule_id.in_(ids)))
        conn.execute(sa.delete(alert_rules).where(alert_rules.c.name.startswith(BENCH)))
        conn.execute(sa.update(alert_rules).values(is_active=True))


def timed(run: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    out, answer = [], None
    for i in range(runs + 1):
        started = time.perf_counter()
        answer = run()
        if i:  # the first run warms the page cache
            out.append((time.perf_counter() - started) * 1000)
    return out, answer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="SQLite file to load into (or reuse when loaded)")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        settings = Settings(data_dir=path.parent, database_url=f"sqlite:///{path}")
        fresh = not path.exists()
        ledger = Ledger.open(settings)
        if fresh:
            events = EVENTS_PER_DAY * args.days
            print(f"loading {events:,} events over {args.days} days into {path}", file=sys.stderr)
            queries.load(ledger.engine, events, args.days, END_DAY)
        try:
            run(ledger, args.rules, args.runs)
        finally:
            clean(ledger.engine)
            ledger.close()


def run(ledger: Ledger, n: int, runs: int) -> None:
    engine = ledger.engine
    clean(engine)
    rules = store_rules(engine, rule_bodies(n))
    raw_from_us = raw_from(NOW, 3650)
    with engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar()
    print(f"SQLite, {events:,} events; {len(rules)} rules at {NOW.isoformat()}")
    print("  types:", dict(Counter(r.alert_type for r in rules)))
    print("  shapes:", dict(Counter(r.scope_columns or ("global",) for r in rules).most_common()))

    def evaluate_all() -> Any:
        with engine.connect() as conn:
            return evaluate(conn, rules, now=NOW, raw_from_us=raw_from_us)

    started = time.perf_counter()
    first = check(engine, now=NOW, retention_days=3650)
    first_ms = (time.perf_counter() - started) * 1000
    states = Counter(ev.state for ev in first.evaluations)
    print(f"  states: {dict(states)}; the first round fired {len(first.fired)}")

    one = [r for r in rules if r.alert_type == "daily_limit" and not r.scope_columns][:1]
    month = Window(to_us(NOW.replace(day=1, hour=0, minute=0, second=0)), to_us(NOW))

    def one_rule() -> Any:
        with engine.connect() as conn:
            return evaluate(conn, one, now=NOW, raw_from_us=raw_from_us)

    def global_month() -> Any:
        with engine.connect() as conn:
            return overview(conn, window=month, filters=Filters(), now=NOW)

    def per_shape() -> Any:
        """The same, asking one question per scope shape (no shapes asked together)."""
        saved = evaluation._family
        evaluation._family = lambda shape: "alone"  # type: ignore[assignment]
        try:
            return evaluate_all()
        finally:
            evaluation._family = saved  # type: ignore[assignment]

    together, answer = timed(evaluate_all, runs)
    apart, apart_answer = timed(per_shape, runs)
    assert [(e.state, e.value) for e in answer] == [(e.state, e.value) for e in apart_answer]
    figures = {
        f"evaluate {len(rules)} rules": together,
        f"evaluate {len(rules)}, a question a shape": apart,
        f"round of {len(rules)} rules (steady)": timed(
            lambda: check(engine, now=NOW, retention_days=3650), runs
        )[0],
        "baseline: round of 1 rule": timed(one_rule, runs)[0],
        "baseline: /global, month so far": timed(global_month, runs)[0],
    }
    base = statistics.median(figures["baseline: /global, month so far"])
    print(f"\n  {'ms':<36}{'p50':>9}{'max':>9}{'÷ /global':>11}")
    for name, values in figures.items():
        p50 = statistics.median(values)
        print(f"  {name:<36}{p50:9.1f}{max(values):9.1f}{p50 / base:10.1f}x")
    print(f"  {'first round (fires ' + str(len(first.fired)) + ')':<36}{first_ms:9.1f}")


if __name__ == "__main__":
    os.environ.setdefault("LLMLEDGER_LOG_LEVEL", "warning")
    main()
