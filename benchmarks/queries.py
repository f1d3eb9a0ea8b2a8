"""Analytics query latency: the dashboards' questions answered from rollups, next to the same
questions asked by a raw GROUP BY over ``events``.

Loads ``--events`` synthetic events (the demo's mix: 20 organisations of very different sizes,
their users and 2-5 agents each, 13 models over 5 providers, 8 operations, multi-call sessions,
weekday and hour-of-day rhythm, ~2% failures) straight into ``events`` in time order, builds
every rollup with the writer's own delta code (checked against ``rebuild_rollups``), then times
each question over the last 30 whole UTC days, answered three ways by the same analytics service
function (what the endpoint runs, minus JSON): from the rollups; from raw events (a GROUP BY over
``events``, the same question through the same code); and from a proposed narrower rollup keyed
by (bucket, org, provider, model, success), built here from the real ones. The three answers must
be equal.

    .venv/bin/python benchmarks/queries.py [--events 10000000] [--days 90] [--runs 20]
                                           [--db PATH (reuse a loaded database)] [--pg URL]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from llmledger.analytics import source
from llmledger.analytics.breakdowns import by_model
from llmledger.analytics.filters import Filters
from llmledger.analytics.orgs import by_org
from llmledger.analytics.overview import overview
from llmledger.analytics.sessions import session_list
from llmledger.analytics.trends import trends
from llmledger.analytics.window import Window
from llmledger.demo import AGENTS, MODELS, OPERATIONS, ORG_NAMES
from llmledger.ledger import Ledger
from llmledger.settings import Settings
from llmledger.store import open_days
from llmledger.store import tables as t
from llmledger.store.dialect import insert_sql
from llmledger.store.rebuild import rebuild_rollups
from llmledger.store.rows import EVENT_COLUMNS, US_PER_DAY, rollup_deltas
from llmledger.store.write import apply_deltas

HOUR_WEIGHTS = [0.15] * 6 + [0.5] * 2 + [1.0] * 4 + [1.25] * 5 + [0.7] * 3 + [0.3] * 4
#: $ per 1M tokens (input, output) by model, a rough catalog for the synthetic costs
RATES = {
    m.model: (2.5 if m.tier != "cheap" else 0.3, 10.0 if m.tier != "cheap" else 1.2) for m in MODELS
}


def generate(
    n: int, days: int, end_day: dt.date, seed: int = 11
) -> Iterator[list[tuple[Any, ...]]]:
    """Event rows in ``EVENT_COLUMNS`` order and time order, in chunks of about 50,000."""
    rng = random.Random(seed)
    orgs = []
    for i, name in enumerate(ORG_NAMES):
        users = [f"{name}-u{k:02d}" for k in range(rng.randint(3, 25))]
        orgs.append((name, 1 / (1 + i * 0.35), users, rng.sample(AGENTS, rng.randint(2, 5))))
    org_w = [o[1] for o in orgs]
    model_w = [m.weight for m in MODELS]
    start = dt.datetime.combine(end_day - dt.timedelta(days=days), dt.time(), dt.UTC)
    slots = []  # (hour start µs, weight)
    for h in range(days * 24):
        moment = start + dt.timedelta(hours=h)
        weekend = 0.35 if moment.weekday() >= 5 else 1.0
        slots.append((int(moment.timestamp()) * 10**6, HOUR_WEIGHTS[moment.hour] * weekend))
    total_w = sum(w for _, w in slots)
    session_no = produced = 0
    for hour_us, weight in slots:
        target = round(n * weight / total_w) if produced < n else 0
        rows: list[tuple[Any, ...]] = []
        while len(rows) < target:
            session_no += 1
            org, _, users, agents = rng.choices(orgs, org_w)[0]
            user, agent = rng.choice(users), rng.choice(agents)
            session = f"{org}-s{session_no:08d}"
            profile = rng.choices(MODELS, model_w)[0]
            ts = hour_us + rng.randrange(3_600_000_000)
            for step in range(1 + int(rng.expovariate(1 / 3.5))):
                if rng.random() < 0.15:
                    agent, profile = rng.choice(agents), rng.choices(MODELS, model_w)[0]
                ts = min(ts + rng.randint(1, 40) * 10**6, hour_us + 3_599_999_999)
                inp = max(8, int(rng.lognormvariate(0, 0.6) * profile.input_mean))
                out = max(1, int(rng.lognormvariate(0, 0.7) * profile.output_mean))
                cached = (
                    int(inp * rng.uniform(0.3, 0.9)) if rng.random() < profile.cache_share else 0
                )
                ok = rng.random() > 0.018
                rate_in, rate_out = RATES[profile.model]
                cost = int((inp * rate_in + out * rate_out) * 1000)  # nano-dollars
                source = "provider" if profile.or_rate else "catalog"
                if profile.provider == "selfhosted":
                    source = "fallback"
                eid = uuid.UUID(int=(ts << 64) | rng.getrandbits(64))
                rows.append(
                    (
                        str(eid), ts, org, user, agent, session, f"{session}-{agent}",
                        f"{session}-x{step}", None,
                        "embed" if profile.embedding else rng.choice(OPERATIONS), profile.tier,
                        profile.provider, profile.model, inp, out if ok else 0, cached, 0, 0,
                        int(out * 0.6) if profile.reasoning and ok else 0, 0, 0, 1,
                        200 + inp // 50 + out * 12, None, ok, None if ok else "server_error",
                        200 if ok else 500, None, None, cost if ok else 0, source, None, None, ts,
                    )
                )  # fmt: skip
        produced += len(rows)
        rows.sort(key=lambda r: r[1])
        yield rows


def load(engine: sa.Engine, n: int, days: int, end_day: dt.date) -> None:
    """Insert the rows and add them to every rollup with the writer's own code (``rollup_deltas``
    and ``apply_deltas``, as ``write_batch`` does, minus pricing), then check a sample day with
    the real ``rebuild_rollups``. Rebuilding everything with it would take about 200 µs an event
    (it re-inserts each session one statement at a time): over half an hour at 10M."""
    indexes = list(t.events.indexes)
    with engine.begin() as conn:
        for ix in indexes:
            ix.drop(conn)
    sql = insert_sql(engine.dialect.name, "events", EVENT_COLUMNS)
    started, done, batch = time.perf_counter(), 0, []

    def flush() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql, batch)
            apply_deltas(conn, rollup_deltas(batch, open_from=open_days.open_from(conn)))

    for rows in generate(n, days, end_day):
        batch += rows
        if len(batch) >= 50_000:
            flush()
            done += len(batch)
            batch = []
            rate = done / (time.perf_counter() - started)
            print(f"\r  loaded {done:>11,} events ({rate:,.0f}/s)", end="", file=sys.stderr)
    if batch:
        flush()
        done += len(batch)
    print(f"\r  loaded {done:,} events in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    started = time.perf_counter()
    with engine.begin() as conn:
        for ix in indexes:
            ix.create(conn)
    print(f"  indexes in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    last = int(dt.datetime.combine(end_day, dt.time(), dt.UTC).timestamp()) * 10**6
    with engine.connect() as conn:
        check = rebuild_rollups(conn, start_us=last - US_PER_DAY, end_us=last, repair=False)
    print(f"  rebuild_rollups check of the last day: {check.changed} differences", file=sys.stderr)


def raw_sessions(window: Window) -> sa.Select[Any]:
    """The top sessions by cost as a raw GROUP BY over ``events``."""
    e = t.events.c
    cost = sa.func.sum(e.cost_nanos).label("c")
    return (
        sa.select(e.org_id, e.session_id, cost, sa.func.sum(e.requests), sa.func.min(e.ts_us))
        .where(e.ts_us >= window.start_us, e.ts_us < window.end_us, e.session_id.is_not(None))
        .group_by(e.org_id, e.session_id)
        .order_by(sa.desc("c"))
        .limit(50)
    )


def questions(window: Window, now: dt.datetime) -> dict[str, Callable[[Any], Any]]:
    f = Filters()
    return {
        "global": lambda c: overview(c, window=window, filters=f, now=now),
        "by-org": lambda c: by_org(c, window=window, filters=f),
        "by-model": lambda c: by_model(c, window=window, filters=f),
        "trends (30 days by day)": lambda c: trends(c, window=window, filters=f, group_by="day"),
        "sessions (top 50 by cost)": lambda c: session_list(c, window=window, filters=f),
    }


@contextlib.contextmanager
def answered_from(kind: str) -> Iterator[None]:
    """Make every aggregate come from ``kind``: ``"events"`` (a raw GROUP BY, the same question
    through the same code) or ``"coarse"`` (the proposed narrower rollups, see ``coarse``)."""
    saved_choose, saved_t = source.choose, source.t
    if kind == "events":
        source.choose = lambda *a, **k: "events"  # type: ignore[assignment]
    elif kind == "coarse":
        source.t = types.SimpleNamespace(  # type: ignore[assignment]
            rollup_day=COARSE_DAY,
            rollup_hour=COARSE_HOUR,
            rollup_day_model=COARSE_DAY,
            rollup_hour_model=COARSE_HOUR,
            user_day=t.user_day,
            events=t.events,
            MODEL_DIMENSIONS=t.MODEL_DIMENSIONS,
        )
    try:
        yield
    finally:
        source.choose, source.t = saved_choose, saved_t


_COARSE_META = sa.MetaData()
_COARSE_DIMS = ("org_id", "provider", "model", "success")


def _coarse_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        _COARSE_META,
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("org_id", sa.String(256), nullable=False),
        sa.Column("provider", sa.String(256), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        *(sa.Column(m, sa.BigInteger, nullable=False) for m in t.ROLLUP_MEASURES),
        sa.PrimaryKeyConstraint("bucket", *_COARSE_DIMS),
    )


COARSE_DAY = _coarse_table("bench_coarse_day")
COARSE_HOUR = _coarse_table("bench_coarse_hour")


def coarse(engine: sa.Engine) -> None:
    """A what-if for the schema: rollups keyed by (bucket, org, provider, model, success) only,
    made here from the real ones. They answer every question that does not group or filter by
    agent, operation or tier."""
    with engine.begin() as conn:
        for table, fine in ((COARSE_DAY, t.rollup_day), (COARSE_HOUR, t.rollup_hour)):
            table.drop(conn, checkfirst=True)
            table.create(conn)
            cols = ("bucket", *_COARSE_DIMS)
            q = sa.select(
                *(fine.c[c] for c in cols), *(sa.func.sum(fine.c[m]) for m in t.ROLLUP_MEASURES)
            ).group_by(*(fine.c[c] for c in cols))
            conn.execute(table.insert().from_select([*cols, *t.ROLLUP_MEASURES], q))


def timed(engine: sa.Engine, run: Callable[[Any], Any], runs: int) -> tuple[list[float], Any]:
    out, answer = [], None
    for i in range(runs + 1):
        started = time.perf_counter()
        with engine.connect() as conn:
            answer = run(conn)
        if i:  # the first run warms the page cache
            out.append((time.perf_counter() - started) * 1000)
    return out, answer


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _same(a: Any, b: Any) -> bool:
    """Answers agree, whatever source they came from."""
    if isinstance(a, dict):
        return all(_same(a[k], b[k]) for k in a if k != "answeredFrom")
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def report(engine: sa.Engine, name: str, end_day: dt.date, runs: int, raw_runs: int) -> None:
    end = dt.datetime.combine(end_day, dt.time(), dt.UTC)
    window = Window(
        int((end - dt.timedelta(days=30)).timestamp()) * 10**6, int(end.timestamp()) * 10**6
    )
    coarse(engine)
    with engine.connect() as conn:
        sizes = {
            tab.name: conn.execute(sa.select(sa.func.count()).select_from(tab)).scalar_one()
            for tab in (t.events, t.rollup_hour, t.rollup_day, t.sessions, COARSE_DAY)
        }
    print(f"\n{name}; rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    print(
        f"{'last 30 whole days, ms':<27}{'rollups p50':>12}{'p95':>8}{'raw p50':>10}{'p95':>8}"
        f"{'raw/rollup':>11}{'coarse p50':>12}{'p95':>7}"
    )
    for q, run in questions(window, end).items():
        fast, answer = timed(engine, run, runs)
        slow: list[float] = []
        narrow = None
        if q.startswith("sessions"):
            if raw_runs:
                slow, _ = timed(engine, lambda c: c.execute(raw_sessions(window)).all(), raw_runs)
        else:
            if raw_runs:
                with answered_from("events"):
                    slow, raw_answer = timed(engine, run, raw_runs)
                assert _same(answer, raw_answer), f"{q}: rollups and raw events disagree"
            with answered_from("coarse"):
                narrow, coarse_answer = timed(engine, run, runs)
            assert _same(answer, coarse_answer), f"{q}: coarse rollups disagree"
        extra = f"{pct(narrow, 50):12.1f}{pct(narrow, 95):7.1f}" if narrow else f"{'-':>12}{'-':>7}"
        raw = (
            f"{pct(slow, 50):10.1f}{pct(slow, 95):8.1f}"
            f"{statistics.median(slow) / statistics.median(fast):10.1f}x"
            if slow
            else f"{'-':>10}{'-':>8}{'-':>11}"
        )
        print(f"  {q:<25}{pct(fast, 50):12.1f}{pct(fast, 95):8.1f}{raw}{extra}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--raw-runs", type=int, default=3, help="0: rollups only")
    ap.add_argument("--db", type=Path, help="SQLite file to load into (or reuse when loaded)")
    ap.add_argument("--pg", help="also run on this PostgreSQL database URL (it is loaded too)")
    args = ap.parse_args()
    end_day = dt.date(2026, 11, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        settings = Settings(data_dir=path.parent, database_url=f"sqlite:///{path}")
        fresh = not path.exists()
        # a loaded database is only read: no migration, no price book
        ledger = Ledger.open(settings) if fresh else Ledger(settings)
        if fresh:
            print(
                f"SQLite {path}: loading {args.events:,} events over {args.days} days",
                file=sys.stderr,
            )
            load(ledger.engine, args.events, args.days, end_day)
        report(ledger.engine, "SQLite", end_day, args.runs, args.raw_runs)
        ledger.close()
    if args.pg:
        ledger = Ledger.open(Settings(database_url=args.pg, data_dir=Path(tempfile.gettempdir())))
        with ledger.engine.connect() as conn:
            loaded = conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one()
        if not loaded:
            print(f"PostgreSQL: loading {args.events:,} events", file=sys.stderr)
            load(ledger.engine, args.events, args.days, end_day)
            with ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE")
        report(ledger.engine, "PostgreSQL", end_day, args.runs, args.raw_runs)
        ledger.close()


if __name__ == "__main__":
    os.environ.setdefault("LLMLEDGER_LOG_LEVEL", "warning")
    main()
