"""Ingest throughput: HTTP batch ingest end to end (validation, pricing, events + every rollup in
one transaction, answer after commit) into SQLite and PostgreSQL, next to the ceiling: the same
rows written with ``sqlite3.executemany`` into a bare table.

The server runs as a real ``llmledger serve`` process; this script is the client, posting
pre-encoded batches from a few keep-alive threads. SQLite is measured with the writer as
``serve`` places it by default (``LLMLEDGER_WRITER=process``: a child process commits while the
server prepares) and, as the baseline, in a thread of the one server process.

    .venv/bin/python benchmarks/ingest.py [--events 200000] [--batch 5000] [--pg URL]
                                          [--modes live,backfill] [--writers process,thread]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from llmledger.demo import Demo
from llmledger.ids import uuid7

ROOT = Path(__file__).resolve().parents[1]
PG_DEFAULT = "postgresql+psycopg://llmledger:llmledger@127.0.0.1:5432/postgres"


def make_events(n: int, mode: str) -> list[dict]:
    """``backfill``: demo traffic spread over 30 days (every event its own rollup row, the worst
    case). ``live``: the same calls arriving as a collector sees them, in time order over the
    last five minutes."""
    now = dt.datetime.now(dt.UTC)
    events = [e.to_json_dict() for e in Demo(events=n, days=30, now=now, seed=99)]
    if mode == "live":
        start_ms = int(now.timestamp() * 1000) - 300_000
        for i, e in enumerate(events):
            ms = start_ms + i * 300_000 // n
            e["timestamp"] = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()
            e["eventId"] = str(uuid7(ms))
    return events


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    cli = ROOT / ".venv" / "bin" / "llmledger"
    subprocess.run([str(cli), "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)],
        env={**env, "LLMLEDGER_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def admin_token(env: dict[str, str]) -> str:
    cli = ROOT / ".venv" / "bin" / "llmledger"
    out = subprocess.run(
        [str(cli), "tokens", "create", "--admin"], env=env, check=True, capture_output=True
    )
    return out.stdout.decode().strip()


def http_ingest(
    env: dict[str, str], events: list[dict], batch: int, threads: int
) -> tuple[float, float, float, float]:
    """Events per second, and CPU microseconds per event of the server, of its writer process
    (0 when it writes in a thread) and of this client."""
    port = free_port()
    proc = run_server(env, port)
    try:
        token = admin_token(env)
        bodies = [
            orjson.dumps({"events": events[i : i + batch]}) for i in range(0, len(events), batch)
        ]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        url = f"http://127.0.0.1:{port}/api/v1/events"
        with httpx.Client(timeout=120) as warm:  # warm-up: first request loads the price book
            warm.post(url, content=orjson.dumps({"events": []}), headers=headers)

        local = threading.local()
        clients: list[httpx.Client] = []

        def send(body: bytes) -> int:
            c = getattr(local, "client", None)
            if c is None:  # one keep-alive connection per client thread, made before timing
                c = local.client = httpx.Client(timeout=300)
                clients.append(c)
            r = c.post(url, content=body, headers=headers)
            r.raise_for_status()
            return int(r.json()["accepted"])

        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: send(orjson.dumps({"events": []})), range(threads * 4)))
            cpu_before = _cpu_seconds(proc.pid)
            client_before = time.process_time()
            started = time.perf_counter()
            accepted = sum(pool.map(send, bodies))
            elapsed = time.perf_counter() - started
            cpu_after = _cpu_seconds(proc.pid)
            client = time.process_time() - client_before
        own, writer = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
        for c in clients:
            c.close()
        assert accepted == len(events), (accepted, len(events))
        n = len(events)
        return n / elapsed, own / n * 1e6, writer / n * 1e6, client / n * 1e6
    finally:
        proc.terminate()
        proc.wait(30)


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU time of a process, and of its children such as the writer process
    (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = [
        int(c)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for c in (task / "children").read_text().split()
    ]
    return own, sum(sum(_cpu_seconds(c)) for c in children)


def ceiling(events: list[dict]) -> float:
    """The same rows, already tuples, into a bare table with ``sqlite3.executemany``."""
    cols = sorted({k for e in events for k in e if k != "metadata"})
    rows = [
        tuple(orjson.dumps(e.get(c)) if isinstance(e.get(c), dict) else e.get(c) for c in cols)
        for e in events
    ]
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "bare.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"CREATE TABLE bare ({', '.join(cols)})")
        sql = f"INSERT INTO bare VALUES ({', '.join('?' * len(cols))})"
        started = time.perf_counter()
        for i in range(0, len(rows), 5000):
            db.execute("BEGIN")
            db.executemany(sql, rows[i : i + 5000])
            db.execute("COMMIT")
        elapsed = time.perf_counter() - started
        db.close()
    return len(rows) / elapsed


def pg_database(url: str) -> str | None:
    import uuid

    import sqlalchemy as sa

    name = f"llmledger_bench_{uuid.uuid4().hex[:8]}"
    try:
        eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
    except Exception as exc:
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}", file=sys.stderr)
        return None
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    name = sa.make_url(url).database
    eng = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--pg", default=os.environ.get("LLMLEDGER_TEST_PG_URL", PG_DEFAULT))
    ap.add_argument("--modes", default="live,backfill", help="live, backfill or both")
    ap.add_argument("--writers", default="process,thread", help="SQLite writers to measure")
    args = ap.parse_args()
    print(f"{args.events} demo events, batches of {args.batch}, {args.threads} client threads")
    for mode in args.modes.split(","):
        events = make_events(args.events, mode)
        for where in args.writers.split(","):
            with tempfile.TemporaryDirectory() as d:
                env = {**os.environ, "LLMLEDGER_DATA_DIR": d, "LLMLEDGER_WRITER": where}
                env.pop("LLMLEDGER_DATABASE_URL", None)
                rate, cpu, writer, client = http_ingest(env, events, args.batch, args.threads)
                print(
                    f"{mode:8} HTTP ingest -> SQLite ({where:7}) {rate:10,.0f} events/s  "
                    f"CPU µs/event: server {cpu:5.1f} + writer process {writer:5.1f}, "
                    f"client {client:4.1f}"
                )
        url = pg_database(args.pg)
        if url:
            try:
                with tempfile.TemporaryDirectory() as d:
                    env = {**os.environ, "LLMLEDGER_DATA_DIR": d, "LLMLEDGER_DATABASE_URL": url}
                    env.setdefault("LLMLEDGER_WRITER", "auto")
                    rate, cpu, writer, client = http_ingest(env, events, args.batch, args.threads)
                    print(
                        f"{mode:8} HTTP ingest -> PostgreSQL         {rate:10,.0f} events/s  "
                        f"CPU µs/event: server {cpu:5.1f} + writer process {writer:5.1f}, "
                        f"client {client:4.1f} (PostgreSQL's own not counted)"
                    )
            finally:
                drop_pg_database(args.pg, url)
    print(f"ceiling: sqlite3.executemany, bare table  {ceiling(events):10,.0f} rows/s")


if __name__ == "__main__":
    main()
