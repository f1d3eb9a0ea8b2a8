"""The pricing page, ``/admin/llm-costs/pricing``: the headline costs (``/cost-summary``), the
fallback price (``/fallback``), the model cost table (``/models``, the same filters and the same
rows), LiteLLM syncs, fallback-priced models (``/unpriced``) and re-pricing runs (``/reprice``).

The page only reads. Every change — an inline edit, a manual entry, a deletion, a sync, a
re-price — is made by ``static/pricing.js`` through the pricing API with the session's CSRF
token, so it is validated, refused and audit-logged exactly like an API call. Viewers see the
same figures and no controls.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from llmledger.analytics.costs import cost_summary
from llmledger.pricing import catalog, jobs
from llmledger.pricing.convert import API_FIELDS, row_json
from llmledger.pricing.rows import CLASSES, PriceRow
from llmledger.pricing.traffic import unpriced
from llmledger.server.analytics.pages.common import answerable, ledger_of, page_router, read
from llmledger.server.web import charts
from llmledger.server.web.errors import PageError
from llmledger.server.web.render import page
from llmledger.server.web.view import View
from llmledger.server.web.viewer import ViewerDep

router = page_router()
PAGE_SIZE = 50
#: the source filter's choices (``fallback``: models that traffic priced with the fallback)
SOURCES = {"bundled": "Bundled", "litellm": "LiteLLM", "manual": "Manual", "fallback": "Fallback"}
#: token classes as the table's columns show them
CLASS_LABELS = {
    "input": "Input",
    "output": "Output",
    "cache_read": "Cache read",
    "cache_write_5m": "Cache write 5m",
    "cache_write_1h": "Cache write 1h",
    "reasoning": "Reasoning",
    "input_audio": "Input audio",
    "output_audio": "Output audio",
}
PRICE_FIELDS = [(API_FIELDS[c], CLASS_LABELS[c]) for c in CLASSES]
TEXT_MAX = 256


def _text(view: View, name: str) -> str | None:
    value = view.get(name)
    if value is not None and (len(value) > TEXT_MAX or "\x00" in value):
        raise PageError(422, f"{name}: at most {TEXT_MAX} characters")
    return value.strip() if value else None


def _offset(view: View) -> int:
    text = view.get("offset") or "0"
    if not text.isdigit() or int(text) > 10**6:
        raise PageError(422, "offset: must be a whole number up to 1000000")
    return int(text)


def _source(view: View) -> str | None:
    source = view.get("source")
    if source is not None and source not in SOURCES:
        raise PageError(422, f"source: must be one of {', '.join(SOURCES)}")
    return source


def _tiers_text(row: dict[str, Any]) -> str:
    parts = []
    for tier in row["tiers"]:
        prices = "/".join(
            f"${tier[f]}" for f in ("inputPerMillion", "outputPerMillion") if tier.get(f)
        )
        parts.append(f"> {tier['aboveInputTokens']:,}: {prices}")
    return "; ".join(parts)


def _model_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["tiersText"] = _tiers_text(r)
        r["updated"] = r["changedAt"] or r["effectiveFrom"]
    return rows


@router.get("/pricing")
def pricing_page(request: Request, viewer: ViewerDep) -> Response:
    view, filters = read(request, viewer, fields=("orgId",))
    search, provider = _text(view, "search"), _text(view, "provider")
    source, offset = _source(view), _offset(view)
    ledger = ledger_of(request)
    book = ledger.pricer().book
    with answerable(), ledger.engine.connect() as conn:
        summary = cost_summary(conn, window=view.window, filters=filters, now=view.now)
        total, in_force = 0, list[PriceRow]()
        if source != "fallback":
            total, in_force = catalog.in_force_page(
                conn,
                view.now,
                search=search,
                provider=provider,
                source=source,
                offset=offset,
                limit=PAGE_SIZE,
            )
        fallback = catalog.fallback_in_force(catalog.fallback_rows(conn), view.now)
        unpriced_models = unpriced(conn, book, org_id=filters.org_id, limit=100)
        providers = catalog.providers(conn)
        runs = jobs.recent_jobs(conn, limit=10) if viewer.is_admin else []
    if source == "fallback":
        listed = [
            m
            for m in unpriced_models["models"]
            if (provider is None or m["provider"].lower() == provider.lower())
            and (search is None or search.lower() in f"{m['provider']} {m['model']}".lower())
        ]
        total = len(listed)
        models: list[dict[str, Any]] = []
    else:
        listed = []
        models = _model_rows([row_json(r) for r in in_force])
    more = offset + PAGE_SIZE < total
    return page(
        request,
        viewer,
        view,
        "pricing/pricing.html",
        title="Pricing",
        charts=[
            charts.bars(
                summary["byProvider"], label="provider", chart_id="providers", title="By provider"
            ),
            charts.bars(
                summary["topModels"],
                label="model",
                chart_id="topModels",
                title="Top 5 most expensive models",
            ),
        ],
        api=view.api_url("/cost-summary"),
        summary=summary,
        fallback=row_json(fallback) if fallback else None,
        models=models,
        fallback_models=listed,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        next_url=view.url(offset=offset + PAGE_SIZE) if more else None,
        prev_url=view.url(offset=max(offset - PAGE_SIZE, 0) or None) if offset else None,
        search=search or "",
        provider=provider or "",
        source=source or "",
        sources=SOURCES,
        providers=providers,
        price_fields=PRICE_FIELDS,
        unpriced=unpriced_models,
        runs=runs,
        litellm_url=ledger.settings.litellm_url,
        admin=viewer.is_admin and viewer.csrf is not None,
        models_api=f"/api/v1/admin/pricing/models?limit={PAGE_SIZE}&offset={offset}",
    )
