"""``reconciliation_drift``: the providers' imported reports against what llmledger tracked.

A drift rule reads reconciliation's figures by day and model (``providers.reconcile``), read
once a round per provider and flagged at each rule's percentages exactly as the
reconciliation flags them, over the ``DRIFT_DAYS`` whole UTC days before today, for its
provider or all three. Only *settled* days count: a day an import that ended ``ok`` after the
day was over covered. A day not imported, or imported only while it was still going on (its
report then holds part of it), is never taken for a drift, and today never is.

Each provider and day with a flagged model is a *finding*, fired on its own (period key
``2026-12-05 openai``): CRITICAL when a model's tokens or cost are further apart than the
rule's ``thresholdPercent`` (the reconciliation page flags the same rows at the same
percentage), WARNING when further apart than ``warningPercent`` of it only. A rule without a
threshold of its own follows ``LLMLEDGER_RECONCILIATION_DRIFT_PERCENT``. The rule's state is
that of its worst finding, its value the largest drift (percent of the provider's figure; 100
where the provider reports nothing but something was tracked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from llmledger.alerts.evaluate import Evaluation, State
from llmledger.alerts.messages import amount_text
from llmledger.alerts.periods import Period
from llmledger.alerts.rules import DRIFT_PROVIDERS, Rule
from llmledger.providers.reconcile import ESTIMATED, Figures, cause_of, compare
from llmledger.providers.reconcile import row as reconciled
from llmledger.providers.tables import provider_imports
from llmledger.settings import Settings
from llmledger.store.rows import to_us

__all__ = ["DEFAULT_DRIFT_PERCENT", "DRIFT_DAYS", "drift_text", "judge_drift"]

#: how many whole UTC days before today a drift rule reads
DRIFT_DAYS = 7
DEFAULT_DRIFT_PERCENT: Decimal = Settings.model_fields["reconciliation_drift_percent"].default
DAY_S = 86400
US = 1_000_000
#: the models a message names (the figures keep up to ``KEPT_MODELS``)
NAMED_MODELS = 5
KEPT_MODELS = 20
ESTIMATE_NOTE = (
    "Groq reports no cost: its billed figures are llmledger's estimates from its price "
    "catalog, so a Groq drift is about tokens."
)
_ROW_FIGURES = (
    "model",
    "cause",
    "causeText",
    "trackedCostUsd",
    "billedCostUsd",
    "costDiffUsd",
    "costDiffPercent",
    "trackedTokens",
    "reportedTokens",
    "tokensDiff",
    "tokensDiffPercent",
)


def _day_text(day: int) -> str:
    return dt.datetime.fromtimestamp(day, dt.UTC).date().isoformat()


def settled_days(conn: Connection, provider: str, start_day: int, end_day: int) -> list[int]:
    """The days of ``[start_day, end_day)`` covered by an ``ok`` import of ``provider`` that
    finished after the day ended."""
    c = provider_imports.c
    q = select(c.start_day, c.end_day, c.finished_us).where(
        c.provider == provider,
        c.state == "ok",
        c.finished_us.is_not(None),
        c.start_day < end_day,
        c.end_day > start_day,
    )
    days: set[int] = set()
    for first, last, finished in conn.execute(q):
        for day in range(max(int(first), start_day), min(int(last), end_day), DAY_S):
            if int(finished) >= (day + DAY_S) * US:
                days.add(day)
    return sorted(days)


def drift_of(row: dict[str, Any]) -> float:
    """How far apart a reconciliation row is: the larger of its cost and token differences,
    in percent of the provider's figure (100 where the provider reports none)."""
    parts = []
    for key, diff in (("costDiffPercent", "costDiffUsd"), ("tokensDiffPercent", "tokensDiff")):
        percent = row[key]
        parts.append(100.0 if percent is None and row[diff] else abs(percent or 0.0))
    return max(parts)


class _Flags:
    """The flagged rows (by day and model) of each provider over the window, at any
    percentage: the figures are read once a round per provider (``compare``: exact integers)
    and flagged at each percentage a rule needs without asking again. Only the rows flagged
    at ``lowest``, the smallest percentage any rule needs, are looked at for the others: a
    row flagged at a percentage is flagged at every smaller one."""

    def __init__(self, conn: Connection, start_day: int, end_day: int, lowest: Decimal) -> None:
        self.conn = conn
        self.window = (start_day, end_day)
        self.lowest = lowest
        self.figures: dict[str, list[tuple[int, str, Figures, Figures]]] = {}
        self.settled: dict[str, int] = {}
        self.rows: dict[tuple[str, Decimal], dict[int, list[dict[str, Any]]]] = {}
        self.candidates: dict[str, list[tuple[int, str, Figures, Figures]]] = {}

    def _figures(self, provider: str) -> list[tuple[int, str, Figures, Figures]]:
        """(day, key, tracked, reported) of the settled days."""
        if provider not in self.figures:
            days = set(settled_days(self.conn, provider, *self.window))
            self.settled[provider] = len(days)
            pairs = compare(self.conn, provider, days, "day_model", *self.window) if days else {}
            starts = {_day_text(d): d for d in days}
            self.figures[provider] = [
                (starts[key[:10]], key, tracked, reported)
                for key, (tracked, reported) in pairs.items()
            ]
        return self.figures[provider]

    def days(self, provider: str) -> int:
        """How many days of the window are settled."""
        self._figures(provider)
        return self.settled[provider]

    def flagged(self, provider: str, percent: Decimal) -> dict[int, list[dict[str, Any]]]:
        """The rows further apart than ``percent``, by day."""
        key = (provider, percent)
        if key not in self.rows:
            found: dict[int, list[dict[str, Any]]] = {}
            candidates = self._figures(provider)
            if percent != self.lowest:
                self.flagged(provider, self.lowest)
                candidates = self.candidates[provider]
            else:
                self.candidates[provider] = [
                    c for c in candidates if cause_of(c[2], c[3], percent) is not None
                ]
            for day, name, tracked, reported in candidates:
                if cause_of(tracked, reported, percent) is not None:
                    shown = reconciled(provider, "day_model", name, tracked, reported, percent)
                    found.setdefault(day, []).append(shown)
            self.rows[key] = found
        return self.rows[key]


def _finding(
    provider: str, day: int, rows: list[dict[str, Any]], critical: set[str]
) -> dict[str, Any]:
    """A provider-day's figures: each flagged model, the furthest first, with its level."""
    models = []
    for row in sorted(rows, key=lambda r: (-drift_of(r), r["model"])):
        figures = {k: row[k] for k in _ROW_FIGURES}
        figures["level"] = "CRITICAL" if row["model"] in critical else "WARNING"
        figures["driftPercent"] = drift_of(row)
        models.append(figures)
    return {
        "provider": provider,
        "day": _day_text(day),
        "level": "CRITICAL" if critical else "WARNING",
        "driftPercent": max(m["driftPercent"] for m in models),
        "billedIsEstimate": provider in ESTIMATED,
        "modelCount": len(models),
        "models": models[:KEPT_MODELS],
    }


def _limits(rule: Rule, drift_percent: Decimal) -> tuple[Decimal, Decimal]:
    """The rule's threshold and its warning percentage (exact decimals)."""
    own = rule.threshold_percent
    threshold = Decimal(str(own)) if own is not None else drift_percent
    return threshold, threshold * rule.warning_percent / 100


def judge_drift(
    conn: Connection, rules: Sequence[Rule], *, now: dt.datetime, drift_percent: Decimal
) -> list[Evaluation]:
    """The state of each drift rule at ``now``: its findings over the settled days of the
    window, each an ``Evaluation`` of its own (in ``findings``) for firing."""
    today = to_us(now) // US // DAY_S * DAY_S
    start = today - DRIFT_DAYS * DAY_S
    window = Period(
        f"{_day_text(start)}..{_day_text(today - DAY_S)}", start * US, today * US, "UTC"
    )
    limits = [_limits(rule, drift_percent) for rule in rules]
    lowest = min((warning for _, warning in limits), default=Decimal(0))
    flags = _Flags(conn, start, today, lowest)
    out = []
    for rule, (threshold, warning) in zip(rules, limits, strict=True):
        own = rule.threshold_percent
        findings: list[Evaluation] = []
        checked = 0
        for provider in [rule.provider] if rule.provider else DRIFT_PROVIDERS:
            checked += flags.days(provider)
            warned = flags.flagged(provider, warning)
            critical = flags.flagged(provider, threshold) if warning != threshold else warned
            for day, rows in sorted(warned.items()):
                over = critical.get(day, [])
                found = _finding(provider, day, rows, {r["model"] for r in over})
                found["thresholdPercent"] = float(threshold)
                period = Period(f"{found['day']} {provider}", day * US, (day + DAY_S) * US, "UTC")
                state: State = found["level"]
                findings.append(
                    Evaluation(
                        rule,
                        state,
                        period,
                        found["driftPercent"],
                        float(threshold),
                        "percent",
                        found,
                        period.range,
                    )
                )
        worst: State = "OK"
        if findings:
            worst = "CRITICAL" if any(f.state == "CRITICAL" for f in findings) else "WARNING"
        extra = {
            "thresholdPercent": float(threshold),
            "thresholdFrom": "rule"
            if own is not None
            else "LLMLEDGER_RECONCILIATION_DRIFT_PERCENT",
            "settledDays": checked,
            "drifts": [
                {k: f.extra[k] for k in ("provider", "day", "level", "driftPercent")}
                | {"models": [m["model"] for m in f.extra["models"]]}
                for f in findings
            ],
        }
        value = max((f.value for f in findings), default=0.0)
        out.append(
            Evaluation(
                rule,
                worst,
                window,
                value,
                float(threshold),
                "percent",
                extra,
                window.range,
                tuple(findings),
            )
        )
    return out


# -- words ------------------------------------------------------------------------------------


def _model_text(m: dict[str, Any]) -> str:
    diff = amount_text(m["costDiffUsd"], "usd")
    percent = m["costDiffPercent"]
    share = f", {amount_text(percent, 'percent')} of the billed" if percent is not None else ""
    return (
        f"{m['model'] or '(no model)'} tracked {amount_text(m['trackedCostUsd'], 'usd')}, "
        f"billed {amount_text(m['billedCostUsd'], 'usd')} (difference {diff}{share}; tokens "
        f"{m['trackedTokens']:,} tracked, {m['reportedTokens']:,} reported), likely cause: "
        f"{m['cause']} ({m['causeText']})"
    )


def drift_text(ev: Evaluation) -> str:
    """What drifted: for a finding, its provider, day and models with their figures and
    likely cause; for a rule's state, every provider and day with their models."""
    threshold = amount_text(ev.threshold, "percent")
    if "models" in ev.extra:
        f = ev.extra
        models = f["models"][:NAMED_MODELS]
        more = f["modelCount"] - len(models)
        text = (
            f"{f['provider']} on {f['day']} (UTC): "
            + "; ".join(_model_text(m) for m in models)
            + (f"; and {more} more models" if more > 0 else "")
            + f". Drift above {threshold} of the provider's figures."
        )
        return text + (" " + ESTIMATE_NOTE if f["billedIsEstimate"] else "")
    drifts = ev.extra.get("drifts") or []
    if not drifts:
        return f"no drift above {threshold} over the settled days of {ev.period.key}"
    parts = [
        f"{d['provider']} on {d['day']} ({', '.join(d['models'][:NAMED_MODELS]) or '(no model)'})"
        for d in drifts
    ]
    text = f"tracked and billed differ by more than {threshold} for " + "; ".join(parts)
    if any(d["provider"] in ESTIMATED for d in drifts):
        text += ". " + ESTIMATE_NOTE
    return text


def drift_scope(ev: Evaluation) -> dict[str, str]:
    """The request log's filters for a finding: its provider, and its model when only one
    drifted (a rule's state: its provider, if it has one)."""
    provider = ev.extra.get("provider") or ev.rule.provider
    out = {"provider": provider} if provider else {}
    models = ev.extra.get("models") or []
    if len(models) == 1 and models[0]["model"]:
        out["model"] = models[0]["model"]
    return out


def drift_contributors(ev: Evaluation) -> list[dict[str, Any]]:
    """A finding's three furthest models, as contributors: the billed less the tracked."""
    provider = ev.extra.get("provider")
    return [
        {
            "dimension": "model",
            "name": f"{provider}/{m['model'] or '(none)'}",
            "value": m["costDiffUsd"],
            "unit": "usd",
            "share": None,
            "cause": m["cause"],
        }
        for m in (ev.extra.get("models") or [])[:3]
    ]
