"""``/admin/llm-costs/providers/imports``: per provider, whether a key is configured or stored
(its last four characters, who set it and when, when it was last used; never the key) and the
last run; the runs newest first, paged, with their errors; **Run now** and the key form.

The figures are those of ``GET /api/v1/admin/imports`` and ``GET .../providers/{provider}/
credentials``, through the same functions. Changes go through the API itself from
``static/imports.js`` and ``static/admin.js``, with the session's CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection

from llmledger.providers.credentials import status
from llmledger.providers.imports import PROVIDERS
from llmledger.providers.runs import configured, latest_runs
from llmledger.server.analytics.pages.common import ledger_of, now_of, page_router
from llmledger.server.providers.pages.common import PAGE, admin_only, provider_page
from llmledger.server.web.errors import PageError
from llmledger.server.web.tables import Column, Row, Table
from llmledger.server.web.view import View, read_view
from llmledger.server.web.viewer import ViewerDep

TAB = ("imports", "Imports and keys")
router = page_router()
API = "/api/v1/admin/imports"
LABELS = {"openai": "OpenAI", "anthropic": "Anthropic", "groq": "Groq"}
#: runs a page shows
PER_PAGE = 50
RUN_ID_MAX = 2**63 - 1


def provider_states(conn: Connection) -> list[dict[str, Any]]:
    """Each provider's key (as ``GET /imports`` and ``GET .../credentials`` show it) and last
    run."""
    out = []
    for key in configured(conn):
        provider = key["provider"]
        last = latest_runs(conn, provider=provider, limit=1)
        out.append(
            {
                **key,
                "label": LABELS[provider],
                "credential": status(conn, provider),
                "lastRun": last[0] if last else None,
            }
        )
    return out


def _range(row: Row) -> str:
    """The UTC days a run covered, both inclusive, as an ISO 8601 interval (the CSV's)."""
    return f"{row['startDate']}/{row['endDate']}"


def _range_says(row: Row) -> str:
    return f"{row['startDate']}\nto {row['endDate']}"  # two lines (``td.range``)


def _state(row: Row) -> str:
    return f"state state-{row['state']}"


def runs_table(view: View, rows: list[Row], provider: str | None) -> Table:
    columns = [
        Column("id", "Run", "text"),
        Column("provider", "Provider", "text", says=lambda r: LABELS.get(r["provider"], "?")),
        Column("range", "Range", "text", value=_range, says=_range_says, css=lambda r: "range"),
        Column("state", "State", "text", css=_state),
        Column("trigger", "Trigger", "text"),
        Column("usageRows", "Usage rows", "count"),
        Column("costRows", "Cost rows", "count"),
        Column("metricRows", "Metric rows", "count"),
        Column("error", "Error", "text", css=lambda r: "run-error" if r["error"] else None),
        Column("startedAt", "Started", "utc"),
        Column("finishedAt", "Finished", "utc"),
    ]
    caption = f"Import runs of {LABELS[provider]}" if provider else "Import runs"
    return Table("runs", caption, columns, rows, view, empty="No import has run yet.")


def _provider(view: View) -> str | None:
    value = view.get("provider")
    if value is not None and value not in PROVIDERS:
        raise PageError(422, f"provider: must be one of {', '.join(PROVIDERS)}")
    return value


def _before(view: View) -> int | None:
    value = view.get("before")
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= RUN_ID_MAX:
        raise PageError(422, "before: must be a run id")
    return int(value)


@router.get("/providers/imports")
def imports_page(request: Request, viewer: ViewerDep) -> Response:
    admin_only(viewer)
    view = read_view(request.url.path, request.query_params, now_of(request))
    provider, before = _provider(view), _before(view)
    with ledger_of(request).engine.connect() as conn:
        providers = provider_states(conn)
        rows = latest_runs(conn, provider=provider, limit=PER_PAGE + 1, before=before)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    table = runs_table(view, rows, provider)
    return provider_page(
        request,
        viewer,
        view,
        "imports.html",
        title="Imports and keys",
        tables=[table],
        api=API + (f"?provider={provider}" if provider else ""),
        providers=providers,
        provider=provider or "",
        labels=LABELS,
        can_change=viewer.csrf is not None,
        page_url=f"{PAGE}/{TAB[0]}",
        older_url=view.url(before=rows[-1]["id"], csv=None) if more else None,
        newest_url=view.url(before=None, csv=None) if before is not None else None,
    )
