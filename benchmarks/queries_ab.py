"""Analytics query latency of this checkout beside an earlier commit's, measured in the same run.

The questions of ``queries.py`` (``/global``, ``/by-org``, ``/by-model``, ``/trends`` by day,
the top sessions) are asked of one loaded database (``queries.py --db PATH`` loads it) by two
versions of llmledger: this checkout ("after") and ``--before`` (a commit, unpacked with ``git
archive`` into a temporary folder). Each version runs in a process of its own (``PYTHONPATH``
picks its ``src``), in alternate rounds, so both see the same machine load and page cache. Three
windows, ending at the data's end: the last 30 whole UTC days; 30 days with odd edges (01:52:08
on the first day to 03:53:41 on the last); and two hours with odd edges (01:52:08 to 03:53:41 on
the last day). The earlier commit may answer a window with odd edges differently (e.g. widened
to whole hours); the whole-day answers must be the same.

    .venv/bin/python benchmarks/queries_ab.py --db PATH [--before REF] [--rounds 8] [--runs 5]
                                              [--pg URL (a database queries.py --pg loaded)]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)  # where queries.py's data ends
WINDOWS = {
    "30 whole days": (END - dt.timedelta(days=30), END),
    "30 days, odd edges": (
        END - dt.timedelta(days=30) + dt.timedelta(hours=1, minutes=52, seconds=8),
        END - dt.timedelta(days=1) + dt.timedelta(hours=3, minutes=53, seconds=41),
    ),
    "2 hours, odd edges": (
        END - dt.timedelta(days=1) + dt.timedelta(hours=1, minutes=52, seconds=8),
        END - dt.timedelta(days=1) + dt.timedelta(hours=3, minutes=53, seconds=41),
    ),
}
QUESTIONS = ["global", "by-org", "by-model", "trends (by day)", "sessions (top 50)"]


def child(url: str, runs: int) -> None:
    """Time every question over every window with whatever llmledger ``PYTHONPATH`` gives;
    print JSON: the milliseconds of each run and a digest of each answer."""
    import llmledger
    from llmledger.analytics.breakdowns import by_model
    from llmledger.analytics.filters import Filters
    from llmledger.analytics.orgs import by_org
    from llmledger.analytics.overview import overview
    from llmledger.analytics.sessions import session_list
    from llmledger.analytics.trends import trends
    from llmledger.analytics.window import Window
    from llmledger.ledger import Ledger
    from llmledger.settings import Settings

    settings = Settings(data_dir=Path(tempfile.gettempdir()), database_url=url)
    ledger = Ledger(settings)
    f = Filters()
    out: dict[str, Any] = {"llmledger": llmledger.__file__, "times": {}, "digests": {}}
    for name, (start, end) in WINDOWS.items():
        w = Window(int(start.timestamp()) * 10**6, int(end.timestamp()) * 10**6)
        asked: dict[str, Callable[[Any], Any]] = {
            "global": lambda c, w=w: overview(c, window=w, filters=f, now=END),
            "by-org": lambda c, w=w: by_org(c, window=w, filters=f),
            "by-model": lambda c, w=w: by_model(c, window=w, filters=f),
            "trends (by day)": lambda c, w=w: trends(c, window=w, filters=f, group_by="day"),
            "sessions (top 50)": lambda c, w=w: session_list(c, window=w, filters=f),
        }
        for q in QUESTIONS:
            times, answer = [], None
            for i in range(runs + 1):
                started = time.perf_counter()
                with ledger.engine.connect() as conn:
                    answer = asked[q](conn)
                if i:  # the first run warms the caches
                    times.append((time.perf_counter() - started) * 1000)
            out["times"][f"{name}|{q}"] = times
            out["digests"][f"{name}|{q}"] = _digest(answer)
    ledger.close()
    print(json.dumps(out))


def _digest(answer: Any) -> str:
    """The answer's figures, without the fields that only one version has or that name the
    range and its source."""
    skip = {"answeredFrom", "widened", "startDate", "endDate", "previousPeriod"}

    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in sorted(v.items()) if k not in skip}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return hashlib.sha256(json.dumps(strip(answer), default=str).encode()).hexdigest()[:12]


def unpack(ref: str, into: Path) -> Path:
    """``ref``'s ``src`` folder, unpacked into ``into``."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run_child(src: Path, url: str, runs: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "LLMLEDGER_LOG_LEVEL": "warning"}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", url, "--runs", str(runs)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),  # so the checkout's own src is not found first
    )
    out: dict[str, Any] = json.loads(done.stdout)
    if not out["llmledger"].startswith(str(src)):
        raise SystemExit(f"the child imported {out['llmledger']}, not the code under {src}")
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def compare(label: str, url: str, before_src: Path, rounds: int, runs: int) -> None:
    after_src = ROOT / "src"
    times: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    digests: dict[str, dict[str, str]] = {}
    for i in range(rounds):
        # alternate which version goes first, so neither always meets the other's leftovers
        order = [("before", before_src), ("after", after_src)]
        for side, src in order if i % 2 == 0 else order[::-1]:
            out = run_child(src, url, runs)
            for key, ms in out["times"].items():
                times[side].setdefault(key, []).extend(ms)
            digests[side] = out["digests"]
        print(f"\r  {label}: round {i + 1}/{rounds}", end="", file=sys.stderr)
    print(file=sys.stderr)
    print(f"\n{label}, {rounds} rounds x {runs} runs per version, ms")
    print(
        f"{'window':<20}{'question':<19}{'before p50':>11}{'p95':>8}{'after p50':>11}"
        f"{'p95':>8}{'p95 after/before':>18}  same answer"
    )
    for key in times["after"]:
        name, q = key.split("|")
        b, a = times["before"][key], times["after"][key]
        same = "yes" if digests["before"][key] == digests["after"][key] else "no"
        if name == "30 whole days" and same == "no":
            same = "NO (must be the same)"
        print(
            f"{name:<20}{q:<19}{pct(b, 50):11.1f}{pct(b, 95):8.1f}{pct(a, 50):11.1f}"
            f"{pct(a, 95):8.1f}{pct(a, 95) / pct(b, 95):17.2f}x  {same}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="a SQLite file loaded by queries.py --db")
    ap.add_argument("--pg", help="a PostgreSQL URL loaded by queries.py --pg")
    ap.add_argument("--before", default="24b9327^1", help="the commit to compare with")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per question and round")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.runs)
        return
    if not args.db and not args.pg:
        ap.error("give --db or --pg (a database loaded by queries.py)")
    with tempfile.TemporaryDirectory() as tmp:
        before_src = unpack(args.before, Path(tmp))
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", args.before],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"before: {args.before} ({commit}); after: this checkout")
        if args.db:
            compare("SQLite", f"sqlite:///{args.db.resolve()}", before_src, args.rounds, args.runs)
        if args.pg:
            compare("PostgreSQL", args.pg, before_src, args.rounds, args.runs)


if __name__ == "__main__":
    main()
