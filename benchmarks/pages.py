"""The dashboard's pages on the demo database: how long the server takes to answer each page (the
HTML with its data), how long chromium takes from navigation to the charts drawn, and how much
of our own CSS and JS a browser downloads.

Writes the demo (``llmledger demo``: 200,000 events over 90 days, what ``serve --demo`` writes)
into a fresh data directory unless ``--data-dir`` names one that holds it, then:

- server time: each page answered in-process (``TestClient`` over ``create_app``, a bearer
  token), ``--runs`` times after two warm-up calls, p50 and p95; beside it, in the same run, the
  baselines ``/healthz`` and the JSON call the page is built from (the overview against
  ``/global``), as a ratio. The range is the last 30 whole UTC days.
- the pricing page over the whole catalog (at least 2,000 models; manual rows are added when
  the bundled catalog holds fewer), unfiltered, searched and filtered by provider and source,
  against the catalog API with the same filter;
- browser time: ``llmledger serve`` on the same database and Debian's chromium (playwright);
  the time from navigation start to the last chart drawn (charts.js marks it), first with an
  empty cache and then warm (median of ``--browser-runs``);
- our own static files (``server/static/``: CSS and JS), gzipped as they are served; the
  charting library (plotly.min.js) on a line of its own.

    .venv/bin/python benchmarks/pages.py [--events 200000] [--runs 30] [--browser-runs 5]
                                         [--data-dir DIR (reuse)] [--no-browser]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from llmledger.auth.tokens import create_api_token
from llmledger.ledger import Ledger
from llmledger.server.app import create_app
from llmledger.server.web.assets import catalog
from llmledger.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# the browser the browser tier runs, launched the same way
from tests.support.browser import ARGS, CHROMIUM  # noqa: E402

BASE = "/admin/llm-costs"
API = "/api/v1/admin/llm-costs"
PRICING_API = "/api/v1/admin/pricing"


def _span() -> dict[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    return {"startDate": (today - dt.timedelta(days=29)).isoformat(), "endDate": today.isoformat()}


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir}/llmledger.db")


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LLMLEDGER_DATA_DIR": str(data_dir),
        "LLMLEDGER_DATABASE_URL": f"sqlite:///{data_dir}/llmledger.db",
        "LLMLEDGER_LOG_LEVEL": "warning",
    }


def load_demo(data_dir: Path, events: int) -> None:
    ledger = Ledger.open(_settings(data_dir))
    with ledger.engine.connect() as conn:
        held = conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
    ledger.close()
    if held:
        print(f"demo: reusing {held:,} events in {data_dir}")
        return
    cmd = [sys.executable, "-m", "llmledger.cli", "demo", "--events", str(events)]
    subprocess.run(cmd, env=_env(data_dir), check=True, stderr=subprocess.DEVNULL)


def _admin_token(settings: Settings) -> str:
    ledger = Ledger.open(settings, upgrade=False)
    with ledger.engine.begin() as conn:
        token = create_api_token(conn, role="admin", name="benchmark")[1]
    ledger.close()
    return token


def _timed(client: TestClient, url: str, params: dict[str, str], runs: int) -> list[float]:
    for _ in range(2):
        r = client.get(url, params=params)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        r = client.get(url, params=params)
        out.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, url
    return out


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


def _ids(client: TestClient, span: dict[str, str]) -> dict[str, str]:
    org = client.get(f"{API}/by-org", params={**span, "sortBy": "requests"}).json()["orgs"][0]
    sessions = client.get(f"{API}/sessions", params={**span, "orgId": org["orgId"]}).json()
    session = sessions["sessions"][0]["sessionId"]
    rows = client.get(f"{API}/sessions/{session}", params={"orgId": org["orgId"]}).json()
    return {"org": org["orgId"], "session": session, "event": rows["requests"][0]["eventId"]}


def page_list(ids: dict[str, str]) -> list[tuple[str, str, dict[str, str], str | None]]:
    """(name, page, extra params, the JSON call it is built from) — the range is added."""
    org, session, event = ids["org"], ids["session"], ids["event"]
    return [
        ("overview", BASE, {}, f"{API}/global"),
        ("orgs", f"{BASE}/orgs", {}, f"{API}/by-org"),
        ("org", f"{BASE}/orgs/{org}", {}, f"{API}/by-org/{org}"),
        ("agents", f"{BASE}/agents", {}, f"{API}/by-agent"),
        ("models", f"{BASE}/models", {}, f"{API}/by-model"),
        ("users", f"{BASE}/users", {}, f"{API}/by-user"),
        ("operations", f"{BASE}/operations", {}, f"{API}/by-operation"),
        ("sessions", f"{BASE}/sessions", {}, f"{API}/sessions"),
        ("session", f"{BASE}/sessions/{session}", {"orgId": org}, f"{API}/sessions/{session}"),
        ("requests", f"{BASE}/requests", {}, f"{API}/requests"),
        ("request", f"{BASE}/requests/{event}", {}, f"{API}/requests/{event}"),
        ("usage pattern", f"{BASE}/usage-pattern", {}, f"{API}/usage-pattern"),
        ("forecast", f"{BASE}/forecast", {}, f"{API}/forecast"),
        ("what-if", f"{BASE}/what-if", {"asModel": "gpt-4o-mini"}, f"{API}/what-if"),
    ]


def _ensure_models(client: TestClient, least: int) -> int:
    """The catalog's model count, topped up with manual rows to at least ``least``."""
    total = int(client.get(f"{PRICING_API}/models", params={"limit": 1}).json()["total"])
    for i in range(max(0, least - total)):
        body = {
            "provider": "benchmark",
            "model": f"bench-model-{i:04d}",
            "inputPerMillion": "1",
            "outputPerMillion": "2",
        }
        r = client.post(f"{PRICING_API}/models", json=body)
        assert r.status_code in (200, 201), r.text
    return int(client.get(f"{PRICING_API}/models", params={"limit": 1}).json()["total"])


def server_times(settings: Settings, token: str, runs: int) -> list[dict[str, Any]]:
    app = create_app(settings)
    span = _span()
    rows: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app, base_url="http://127.0.0.1", headers=headers) as client:
        health = _timed(client, "/healthz", {}, runs)
        rows.append({"name": "/healthz (baseline)", "times": health, "base": None})
        for name, url, extra, api in page_list(_ids(client, span)):
            params = {**extra} if name == "request" else {**span, **extra}
            if name == "forecast":
                params = {**extra}  # its own default history: the last 8 complete weeks
            page = _timed(client, url, params, runs)
            base = _timed(client, api, params, runs) if api else None
            rows.append({"name": name, "times": page, "base": base, "api": api})

        models = _ensure_models(client, 2000)
        pricing = [
            ("pricing, all models", {}, {}),
            ("pricing, search 'claude'", {"search": "claude"}, {"search": "claude"}),
            (
                "pricing, openai bundled",
                {"provider": "openai", "source": "bundled"},
                {"provider": "openai", "source": "bundled"},
            ),
        ]
        for name, page_params, api_params in pricing:
            page = _timed(client, f"{BASE}/pricing", {**span, **page_params}, runs)
            base = _timed(client, f"{PRICING_API}/models", api_params, runs)
            rows.append(
                {"name": f"{name} ({models:,})", "times": page, "base": base, "api": "models"}
            )
        rows.extend(pricing_parts(settings, span, runs))
    return rows


def _direct(fn: Any, runs: int) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def pricing_parts(settings: Settings, span: dict[str, str], runs: int) -> list[dict[str, Any]]:
    """Where the pricing page's time goes: the model table (``in_force_page``: all models, and
    searched) against the cost summary above it, called directly."""
    from llmledger.analytics.costs import cost_summary
    from llmledger.analytics.filters import Filters
    from llmledger.analytics.window import Window
    from llmledger.pricing.catalog import in_force_page
    from llmledger.store.rows import to_us

    ledger = Ledger.open(settings.model_copy(update={"writer": "thread"}), upgrade=False)
    now = dt.datetime.now(dt.UTC)
    start = dt.datetime.combine(dt.date.fromisoformat(span["startDate"]), dt.time(), dt.UTC)
    end = dt.datetime.combine(
        dt.date.fromisoformat(span["endDate"]) + dt.timedelta(days=1), dt.time(), dt.UTC
    )
    window = Window(to_us(start), to_us(end))
    try:
        with ledger.engine.connect() as conn:
            parts = {
                "  table: 50 of all models": lambda: in_force_page(conn, now, limit=50),
                "  table: search 'claude'": lambda: in_force_page(
                    conn, now, search="claude", limit=50
                ),
                "  cost summary (KPI cards, charts)": lambda: cost_summary(
                    conn, window=window, filters=Filters(), now=now
                ),
            }
            return [{"name": n, "times": _direct(f, runs), "base": None} for n, f in parts.items()]
    finally:
        ledger.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser_times(data_dir: Path, token: str, runs: int) -> list[tuple[str, float, float]]:
    import httpx
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "llmledger.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    out = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("llmledger serve did not start")
            time.sleep(0.1)
        query = "&".join(f"{k}={v}" for k, v in _span().items())
        pages = [
            ("overview", f"{BASE}?{query}"),
            ("models", f"{BASE}/models?{query}"),
            ("agents", f"{BASE}/agents?{query}"),
            ("usage pattern", f"{BASE}/usage-pattern?{query}"),
            ("forecast", f"{BASE}/forecast"),
        ]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, path in pages:
                context = browser.new_context(
                    viewport={"width": 1280, "height": 900},
                    extra_http_headers={"Authorization": f"Bearer {token}"},
                )
                page = context.new_page()
                drawn = []
                for _ in range(runs):
                    page.goto(url + path)
                    page.locator("html[data-charts-drawn]").wait_for(
                        state="attached", timeout=60_000
                    )
                    drawn.append(
                        page.evaluate(
                            "performance.getEntriesByName('llmledger:charts-drawn')[0].startTime"
                        )
                    )
                context.close()
                out.append((name, drawn[0], statistics.median(drawn[1:] or drawn)))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def static_sizes() -> tuple[list[tuple[str, int, int]], int, int]:
    ours = []
    for logical, asset in sorted(catalog().items()):
        if logical.endswith((".css", ".js")) and logical != "plotly.min.js":
            ours.append((logical, len(asset.body), len(asset.gzipped)))
    plotly = catalog()["plotly.min.js"]
    return ours, len(plotly.body), len(plotly.gzipped)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--browser-runs", type=int, default=5)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="llmledger-pages-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    load_demo(data_dir, args.events)
    settings = _settings(data_dir)
    token = _admin_token(settings)

    print(f"\nserver time, ms (in-process, {args.runs} runs after 2 warm-up; last 30 days)")
    print(f"{'page':<40} {'p50':>8} {'p95':>8}   {'JSON p50':>8} {'JSON p95':>8} {'ratio p95':>9}")
    for row in server_times(settings, token, args.runs):
        t = row["times"]
        line = f"{row['name']:<40} {statistics.median(t):8.1f} {p95(t):8.1f}"
        if row["base"]:
            b = row["base"]
            ratio = p95(t) / p95(b)
            line += f"   {statistics.median(b):8.1f} {p95(b):8.1f} {ratio:8.2f}x"
        print(line, flush=True)

    ours, plotly_raw, plotly_gz = static_sizes()
    print("\nour static files (as served: gzip level 9)")
    for name, raw, gz in ours:
        print(f"  {name:<16} {raw / 1024:7.1f} KB  gzipped {gz / 1024:6.1f} KB")
    total_gz = sum(gz for _, _, gz in ours)
    print(
        f"  {'ours in all':<16} {sum(r for _, r, _ in ours) / 1024:7.1f} KB  "
        f"gzipped {total_gz / 1024:6.1f} KB   (target <= 100 KB)"
    )
    print(
        f"  {'plotly.min.js':<16} {plotly_raw / 1024:7.1f} KB  gzipped {plotly_gz / 1024:6.1f} KB"
        "   (the charting library, aside)"
    )

    if not args.no_browser:
        print("\nbrowser: navigation start to the charts drawn, ms (chromium, 1280 px)")
        print(f"{'page':<16} {'empty cache':>12} {'warm (median)':>14}")
        for name, cold, warm in browser_times(data_dir, token, args.browser_runs):
            print(f"{name:<16} {cold:12.0f} {warm:14.0f}")


if __name__ == "__main__":
    main()
