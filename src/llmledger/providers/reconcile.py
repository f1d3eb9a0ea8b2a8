"""Reconciliation: what llmledger tracked (its rollups, through ``analytics``) against what each
provider reported and billed (``provider_usage`` and ``provider_costs``), per UTC day, model or
project, with the rows further apart than the drift threshold flagged and their likely cause.

Only the days a provider's report was imported for are compared (``provider_imports`` runs that
ended ``ok``): a day not imported yet is not a drift. Charges that name no model (tools,
storage, web search) are shown as ``otherChargesUsd`` and left out of the comparison, since no
tracked event carries them. A provider project or workspace is matched to the organisation
(``orgId``) of the same id: events captured with ``orgId`` set to the project id reconcile by
project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from llmledger.analytics.filters import Filters
from llmledger.analytics.measures import usd
from llmledger.analytics.source import aggregate
from llmledger.analytics.window import iso_s
from llmledger.providers.report import DAY_S
from llmledger.providers.tables import provider_costs, provider_imports, provider_usage

#: ``day_model``: one row per day and model (what drift alerts read: alerts.drift)
Group = Literal["day", "model", "project", "day_model"]
#: the groupings of the API
GROUPS: tuple[Group, ...] = ("day", "model", "project", "day_model")
#: the key fields of a row of each grouping
KEYS: dict[Group, tuple[str, ...]] = {
    "day": ("day",),
    "model": ("model",),
    "project": ("project",),
    "day_model": ("day", "model"),
}
RECONCILED = ("openai", "anthropic", "groq")
#: providers whose "billed" cost is llmledger's own estimate (they report no cost)
ESTIMATED = frozenset({"groq"})
US = 1_000_000

CAUSES = {
    "price": "tokens match but the cost differs: a wrong or missing price",
    "untracked": "the provider reports more tokens than were tracked: traffic outside "
    "instrumented code, or lost events",
    "unreported": "more tokens were tracked than the provider reports: another account or key, "
    "or a report not final yet",
}


@dataclass
class Figures:
    cost: int = 0
    tokens: int = 0
    requests: int | None = 0
    other: int = 0  # charges naming no model

    def add(self, *, cost: int = 0, tokens: int = 0, requests: int | None = 0) -> None:
        self.cost += cost
        self.tokens += tokens
        if requests is None or self.requests is None:
            self.requests = None
        else:
            self.requests += requests


def imported_days(conn: Connection, provider: str, start_day: int, end_day: int) -> set[int]:
    """The days of ``[start_day, end_day)`` that an ``ok`` import of ``provider`` covered."""
    c = provider_imports.c
    q = select(c.start_day, c.end_day).where(
        c.provider == provider, c.state == "ok", c.start_day < end_day, c.end_day > start_day
    )
    days: set[int] = set()
    for first, last in conn.execute(q):
        days.update(range(max(int(first), start_day), min(int(last), end_day), DAY_S))
    return days


def coverage_of(provider: str, days: set[int], start_day: int, end_day: int) -> dict[str, Any]:
    """How many days of the range a report was imported for, and which were not."""
    missing = [iso_s(d)[:10] for d in range(start_day, end_day, DAY_S) if d not in days]
    return {
        "provider": provider,
        "importedDays": len(days),
        "notImportedDays": len(missing),
        "notImportedDates": missing,
    }


def _key(group: Group, day: int, model: str, project: str) -> str:
    if group == "day":
        return iso_s(day)[:10]
    if group == "day_model":
        return f"{iso_s(day)[:10]} {model}"
    return model if group == "model" else project


def _tracked(
    conn: Connection, provider: str, days: set[int], group: Group, start_day: int, end_day: int
) -> dict[str, Figures]:
    dim = {"day": None, "model": "model", "project": "org_id", "day_model": "model"}[group]
    dims = ("bucket",) if dim is None else ("bucket", dim)
    rows, _ = aggregate(
        conn,
        [(start_day * US, end_day * US)],
        Filters(provider=provider),
        dims=dims,
        measures=("requests", "input_tokens", "output_tokens", "cost_nanos"),
    )
    out: dict[str, Figures] = defaultdict(Figures)
    for r in rows:
        day = r["bucket"] - r["bucket"] % DAY_S
        if day not in days:
            continue
        model = (r.get("model") or "").lower()
        key = _key(group, day, model, r.get("org_id") or "")
        out[key].add(
            cost=r["cost_nanos"],
            tokens=r["input_tokens"] + r["output_tokens"],
            requests=r["requests"],
        )
    return out


def _reported(
    conn: Connection, provider: str, days: set[int], group: Group, start_day: int, end_day: int
) -> dict[str, Figures]:
    out: dict[str, Figures] = defaultdict(Figures)
    u = provider_usage.c
    usage = (
        select(
            u.day,
            u.model,
            u.project,
            func.sum(u.input_tokens + u.output_tokens),
            func.sum(u.requests),
            func.count(u.requests),
            func.count(),
        )
        .where(u.provider == provider, u.day >= start_day, u.day < end_day)
        .group_by(u.day, u.model, u.project)
    )
    for day, model, project, tokens, requests, with_requests, rows in conn.execute(usage):
        if int(day) in days:
            known = int(with_requests) == int(rows)
            out[_key(group, int(day), model, project)].add(
                tokens=int(tokens or 0), requests=int(requests or 0) if known else None
            )
    c = provider_costs.c
    costs = (
        select(c.day, c.model, c.project, func.sum(c.cost_nanos))
        .where(c.provider == provider, c.day >= start_day, c.day < end_day)
        .group_by(c.day, c.model, c.project)
    )
    for day, model, project, nanos in conn.execute(costs):
        if int(day) not in days:
            continue
        if model:
            out[_key(group, int(day), model, project)].add(cost=int(nanos), requests=0)
        elif group in ("day", "project"):  # a charge naming no model belongs to no model row
            out[_key(group, int(day), model, project)].other += int(nanos)
    return out


def _over(reference: int, tracked: int, percent: Decimal) -> bool:
    """Whether ``tracked`` is further from ``reference`` than ``percent`` of it (exact)."""
    diff = abs(reference - tracked)
    if reference == 0:
        return diff > 0
    return Decimal(diff) * 100 > percent * Decimal(abs(reference))


def _percent(diff: int, reference: int) -> float | None:
    if reference == 0:
        return 0.0 if diff == 0 else None
    return round(diff * 100 / reference, 2)


def cause_of(tracked: Figures, reported: Figures, percent: Decimal) -> str | None:
    """The likely cause of a drift, or ``None`` when the row is within the threshold."""
    tokens_off = _over(reported.tokens, tracked.tokens, percent)
    cost_off = _over(reported.cost, tracked.cost, percent)
    if not tokens_off and not cost_off:
        return None
    if tokens_off:
        return "untracked" if reported.tokens > tracked.tokens else "unreported"
    if tracked.tokens == 0 and tracked.cost == 0:  # billed for what nothing tracked names
        return "untracked"
    return "price"


def row(
    provider: str, group: Group, key: str, tracked: Figures, reported: Figures, percent: Decimal
) -> dict[str, Any]:
    """One row of the reconciliation: the figures, their differences, and whether they are
    further apart than ``percent`` (``flagged``, with the likely cause)."""
    cost_diff = reported.cost - tracked.cost
    token_diff = reported.tokens - tracked.tokens
    cause = cause_of(tracked, reported, percent)
    # day_model: "2026-12-05 gpt-4o" as its day and its model
    keys: dict[str, str] = {group: key}
    if group == "day_model":
        day, model = key.split(" ", 1)
        keys = {"day": day, "model": model}
    return {
        "provider": provider,
        **keys,
        "trackedCostUsd": usd(tracked.cost),
        "billedCostUsd": usd(reported.cost),
        "costDiffUsd": usd(cost_diff),
        "costDiffPercent": _percent(cost_diff, reported.cost),
        "trackedTokens": tracked.tokens,
        "reportedTokens": reported.tokens,
        "tokensDiff": token_diff,
        "tokensDiffPercent": _percent(token_diff, reported.tokens),
        "trackedRequests": tracked.requests,
        "reportedRequests": reported.requests,
        "otherChargesUsd": usd(reported.other),
        "billedIsEstimate": provider in ESTIMATED,
        "flagged": cause is not None,
        "cause": cause,
        "causeText": CAUSES.get(cause or ""),
    }


def compare(
    conn: Connection, provider: str, days: set[int], group_by: Group, start_day: int, end_day: int
) -> dict[str, tuple[Figures, Figures]]:
    """Tracked and reported figures of ``provider`` on ``days`` (imported days of
    ``[start_day, end_day)``), by key, sorted: what ``row`` presents at any threshold."""
    tracked = _tracked(conn, provider, days, group_by, start_day, end_day)
    reported = _reported(conn, provider, days, group_by, start_day, end_day)
    return {
        key: (tracked.get(key, Figures()), reported.get(key, Figures()))
        for key in sorted(set(tracked) | set(reported))
    }


def reconcile(
    conn: Connection,
    *,
    start_day: int,
    end_day: int,
    group_by: Group,
    drift_percent: Decimal,
    providers: Iterable[str] = RECONCILED,
) -> dict[str, Any]:
    """Tracked against reported for ``[start_day, end_day)`` (Unix seconds, whole UTC days),
    one row per provider and day, model or project; rows are sorted by provider then key."""
    rows: list[dict[str, Any]] = []
    coverage = []
    for provider in providers:
        days = imported_days(conn, provider, start_day, end_day)
        coverage.append(coverage_of(provider, days, start_day, end_day))
        if not days:
            continue
        for key, (tracked, reported) in compare(
            conn, provider, days, group_by, start_day, end_day
        ).items():
            rows.append(row(provider, group_by, key, tracked, reported, drift_percent))
    return {
        "startDate": iso_s(start_day)[:10],
        "endDate": iso_s(end_day - DAY_S)[:10],
        "groupBy": group_by,
        "driftPercent": float(drift_percent),
        "coverage": coverage,
        "flaggedRows": sum(1 for r in rows if r["flagged"]),
        "rows": rows,
    }
