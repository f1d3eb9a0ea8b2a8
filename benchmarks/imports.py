"""Importing provider reports: 90 days of a 50-model organisation (4 projects or workspaces)
from the fake admin API on 127.0.0.1, OpenAI (completions, costs and its other usage reports:
embeddings, moderations, images, audio, vector stores, code-interpreter sessions) and
Anthropic, into a fresh database.

Baseline, measured in the same run: fetching the very same pages with a bare ``httpx`` client
(no parsing beyond the cursor, nothing stored), which is what the fake API itself costs to
serve. The import's time over it is the part llmledger adds (exact decimals, rows, one
replacing transaction). Target: an import ≤ 10 s.

    .venv/bin/python benchmarks/imports.py [--days 90] [--models 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from llmledger.ledger import Ledger  # noqa: E402
from llmledger.providers.imports import run_import  # noqa: E402
from llmledger.settings import Settings  # noqa: E402
from tests.providers import fake_reports  # noqa: E402
from tests.providers.fake_reports import ANTHROPIC_KEY, OPENAI_KEY, Script, serve  # noqa: E402

D0 = int(dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp())
DAY = 86400
PROJECTS = 4


def _iso(s: int) -> str:
    return dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def organisation(days: int, models: int) -> dict[str, list[dict[str, Any]]]:
    names = [f"model-{m:02d}" for m in range(models)]
    projects = [f"proj_{p}" for p in range(PROJECTS)]
    oa_usage, oa_costs, an_usage, an_costs = [], [], [], []
    for d in range(days):
        start = D0 + d * DAY
        oa = {"object": "bucket", "start_time": start, "end_time": start + DAY}
        an = {"starting_at": _iso(start), "ending_at": _iso(start + DAY)}
        n = [
            (m, p, 1000 + 7 * d + 13 * i)
            for i, (m, p) in enumerate((m, p) for m in names for p in projects)
        ]
        oa_usage.append(
            {
                **oa,
                "results": [
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": k * 10,
                        "output_tokens": k,
                        "input_cached_tokens": k,
                        "num_model_requests": k // 100,
                        "project_id": p,
                        "model": m,
                    }
                    for m, p, k in n
                ],
            }
        )
        oa_costs.append(
            {
                **oa,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": round(k * 0.0000013, 9), "currency": "usd"},
                        "line_item": f"{m}, {kind}",
                        "project_id": p,
                    }
                    for m, p, k in n
                    for kind in ("input", "output")
                ],
            }
        )
        an_usage.append(
            {
                **an,
                "results": [
                    {
                        "model": m,
                        "workspace_id": p,
                        "uncached_input_tokens": k * 9,
                        "cache_read_input_tokens": k,
                        "cache_creation": {"ephemeral_5m_input_tokens": 3},
                        "output_tokens": k,
                    }
                    for m, p, k in n
                ],
            }
        )
        an_costs.append(
            {
                **an,
                "results": [
                    {
                        "amount": f"{k * 0.013:.5f}",
                        "currency": "USD",
                        "model": m,
                        "workspace_id": p,
                        "description": f"{m} Usage - {kind}",
                    }
                    for m, p, k in n
                    for kind in ("Input Tokens", "Output Tokens")
                ],
            }
        )
    return {
        **openai_other(days),
        "/organization/usage/completions": oa_usage,
        "/organization/costs": oa_costs,
        "/organizations/usage_report/messages": an_usage,
        "/organizations/cost_report": an_costs,
    }


#: OpenAI's other usage reports: (endpoint, its models, its counts)
OTHER = (
    ("embeddings", ["text-embedding-3-small", "text-embedding-3-large"], ["input_tokens"]),
    ("moderations", ["omni-moderation-latest"], ["input_tokens"]),
    ("images", ["gpt-image-1", "dall-e-3", "dall-e-2"], ["images"]),
    ("audio_speeches", ["tts-1", "tts-1-hd", "gpt-4o-mini-tts"], ["characters"]),
    ("audio_transcriptions", ["whisper-1", "gpt-4o-transcribe"], ["seconds"]),
    ("vector_stores", [None], ["usage_bytes"]),
    ("code_interpreter_sessions", [None], ["num_sessions"]),
)


def openai_other(days: int) -> dict[str, list[dict[str, Any]]]:
    """Every project each day of each of OpenAI's other usage reports, with its models."""
    out: dict[str, list[dict[str, Any]]] = {}
    for endpoint, models, counts in OTHER:
        buckets = []
        for d in range(days):
            start = D0 + d * DAY
            results = []
            for i, (m, p) in enumerate((m, p) for m in models for p in range(PROJECTS)):
                result: dict[str, Any] = {
                    "object": f"organization.usage.{endpoint}.result",
                    "project_id": f"proj_{p}",
                    **{c: 1000 + 11 * d + 17 * i for c in counts},
                }
                if m is not None:
                    result |= {"model": m, "num_model_requests": 10 + d + i}
                results.append(result)
            buckets.append(
                {
                    "object": "bucket",
                    "start_time": start,
                    "end_time": start + DAY,
                    "results": results,
                }
            )
        out[f"/organization/usage/{endpoint}"] = buckets
    return out


def fetch_only(url: str, provider: str) -> tuple[float, int, int]:
    """Every page of every report with a bare client: seconds, pages, bytes."""
    if provider == "openai":
        paths = ["organization/usage/completions", "organization/costs"]
        paths += [f"organization/usage/{endpoint}" for endpoint, _, _ in OTHER]
        headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    else:
        paths = ["organizations/usage_report/messages", "organizations/cost_report"]
        headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    pages = size = 0
    started = time.perf_counter()
    with httpx.Client(base_url=url + "/", headers=headers) as client:
        for path in paths:
            cursor = None
            while True:
                r = client.get(path, params={"page": cursor} if cursor else {})
                pages += 1
                size += len(r.content)
                page = json.loads(r.content)
                cursor = page.get("next_page")
                if not page.get("has_more"):
                    break
    return time.perf_counter() - started, pages, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    fake_reports.PER_PAGE = 31  # the APIs' own most buckets a page
    buckets = organisation(args.days, args.models)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url)
        ledger = Ledger.open(settings)
        try:
            with serve(Script(buckets)) as url:
                settings = settings.model_copy(
                    update={"openai_admin_url": url, "anthropic_admin_url": url}
                )
                print(
                    f"{args.days} days, {args.models} models x {PROJECTS} projects; "
                    f"database: {ledger.engine.url.get_backend_name()}"
                )
                print(
                    "| Provider | rows (usage + cost + metric) | pages | MB | fetch only, s "
                    "| import, s | import / fetch | again (replacing), s |"
                )
                print("|---|---:|---:|---:|---:|---:|---:|---:|")
                for provider, key in (("openai", OPENAI_KEY), ("anthropic", ANTHROPIC_KEY)):
                    base, pages, size = fetch_only(url, provider)
                    times = []
                    for _ in range(2):
                        started = time.perf_counter()
                        done = run_import(
                            ledger.engine,
                            settings,
                            provider,
                            key=key,
                            start_day=D0,
                            end_day=D0 + args.days * DAY,
                        )
                        times.append(time.perf_counter() - started)
                    print(
                        f"| {provider} | {done.usage_rows:,} + {done.cost_rows:,} "
                        f"+ {done.metric_rows:,} | {pages} "
                        f"| {size / 1e6:.1f} | {base:.2f} | **{times[0]:.2f}** "
                        f"| {times[0] / base:.1f}x | {times[1]:.2f} |"
                    )
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
