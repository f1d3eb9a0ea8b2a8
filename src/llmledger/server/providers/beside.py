"""Billed beside tracked, where the dashboard shows spend by provider (the overview's cost by
provider, the forecast's month to date): the providers' billed cost for the same whole UTC
days, from ``GET /api/v1/admin/llm-costs/billing``'s function (``billed_totals``), with the
days no report was imported for and whether the figure is an estimate (Groq's).

Only admins see it, and only when the view is not narrowed beyond a provider: a provider's
bill spans every organisation, so an organisation's view (or one narrowed to a model, an
agent, a user...) keeps showing tracked spend alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from llmledger.analytics.filters import Filters
from llmledger.analytics.window import Window
from llmledger.providers.billing import billed_totals
from llmledger.providers.reconcile import RECONCILED
from llmledger.providers.report import DAY_S
from llmledger.server.web.formats import usd
from llmledger.server.web.tables import Column, Table
from llmledger.server.web.view import View
from llmledger.server.web.viewer import Viewer

US = 1_000_000


def days_of(window: Window) -> tuple[int, int]:
    """The whole UTC days ``window`` touches, ``[start, end)`` in Unix seconds."""
    start = window.start_us // US
    end = -(-window.end_us // US)
    return start - start % DAY_S, end + (-end % DAY_S)


def shows_billed(viewer: Viewer, filters: Filters) -> bool:
    narrowed = {k: v for k, v in filters.labels().items() if k != "provider"}
    return viewer.is_admin and not narrowed and filters.success is None


def billed_beside(
    conn: Connection,
    viewer: Viewer,
    filters: Filters,
    window: Window,
    tracked: dict[str, float],
) -> list[dict[str, Any]] | None:
    """One row per provider with any day of ``window`` imported: ``trackedCostUsd`` (from
    ``tracked``, by provider), ``billedCostUsd``, ``billedIsEstimate`` and the coverage;
    ``None`` when the view shows no billed figure (not an admin, narrowed, nothing imported)."""
    if not shows_billed(viewer, filters):
        return None
    providers = [p for p in RECONCILED if filters.provider in (None, p)]
    start, end = days_of(window)
    rows = [
        {
            **t,
            "billedCostUsd": t["costUsd"],
            "trackedCostUsd": round(tracked.get(t["provider"], 0.0), 9),
        }
        for t in billed_totals(conn, start_day=start, end_day=end, providers=providers)
        if t["importedDays"]
    ]
    return rows or None


def _billed_says(r: dict[str, Any]) -> str:
    return usd(r["billedCostUsd"]) + (" (estimate)" if r["billedIsEstimate"] else "")


def _missing_says(r: dict[str, Any]) -> str:
    dates = r["notImportedDates"]
    if not dates:
        return "none"
    shown = ", ".join(dates[:5])
    return shown + (f" and {len(dates) - 5} more" if len(dates) > 5 else "")


def billed_table(view: View, rows: list[dict[str, Any]], caption: str) -> Table:
    """The rows of ``billed_beside`` as a table (``billed``)."""
    # no difference column: tracked covers every day of the range, billed only the imported
    # ones; the reconciliation page compares the two day by day
    columns = (
        Column("provider", "Provider"),
        Column("trackedCostUsd", "Tracked", "usd"),
        Column("billedCostUsd", "Billed", "usd", says=_billed_says),
        Column("notImportedDays", "Days not imported", "count"),
        Column("notImportedDates", "Not imported yet", says=_missing_says, sortable=False),
    )
    return Table("billed", caption, columns, rows, view)
